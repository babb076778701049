//! The JWT decoder behind `tok inspect` and every expiry estimate: any input, no panic,
//! and what it accepts is three segments whose header names an algorithm.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(jwt) = tok::jwt::decode(&text) {
        assert!(jwt.header.get("alg").is_some_and(|a| a.is_string()));
        assert_eq!(format!("{}.{}", jwt.signing_input, jwt.signature), text);
        let _ = jwt.time("exp");
    }
});
