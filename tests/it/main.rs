//! tok's integration tests: one binary (faster to build and link than one per file),
//! running the real `tok` against the real `tok-sandbox`, each test with its own
//! `TOK_HOME` and its own sandbox, asserting what reached the server and how often.

mod support;

mod concurrency;
#[cfg(unix)]
mod curl;
#[cfg(unix)]
mod curl_trust;
#[cfg(unix)]
mod exec;
mod faults;
#[cfg(unix)]
mod files;
mod first_hour;
mod forgery;
mod jwt;
mod keyring;
mod merchant_v2;
mod network;
mod nexterpay;
mod oauth2;
mod prove;
#[cfg(unix)]
mod retry;
mod scrub;
mod store;
#[cfg(windows)]
mod windows;
