//! The `tok-sandbox` binary: prints the base URL as the first line on stdout, then serves.

use std::io::Write;

fn main() {
    let options = match tok_sandbox::parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{}", tok_sandbox::USAGE);
            return;
        }
        Err(message) => {
            eprintln!("tok-sandbox: {message}\n{}", tok_sandbox::USAGE);
            std::process::exit(2);
        }
    };
    let tls_dir = options.tls_dir.clone();
    let running = tok_sandbox::start(options).unwrap_or_else(|e| {
        eprintln!("tok-sandbox: cannot listen: {e}");
        std::process::exit(2)
    });
    println!("{}", running.url);
    // --tls: the HTTPS listener's URL second; --tls-dir: its CA and client certificates.
    if let Some((url, pki)) = &running.tls {
        println!("{url}");
        if let Some(dir) = &tls_dir
            && let Err(e) = pki.write_to(dir)
        {
            eprintln!("tok-sandbox: cannot write the certificates to {}: {e}", dir.display());
            std::process::exit(2);
        }
    }
    let _ = std::io::stdout().flush();
    running.wait();
}
