//! Every parser of a provider's reply body, and the excerpt quoted in error messages:
//! whatever a server sends, tok must answer with an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tok::provider::fuzz;

fuzz_target!(|data: &[u8]| {
    fuzz::nexterpay_reply(data);
    fuzz::oauth2_grant(data);
    fuzz::oauth2_error(data);
    fuzz::merchant_v2_data(data);
    fuzz::merchant_v2_error(data);
    fuzz::excerpt(data);
});
