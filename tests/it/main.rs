//! tok's integration tests: one binary (faster to build and link than one per file),
//! running the real `tok` against the real `tok-sandbox`, each test with its own
//! `TOK_HOME` and its own sandbox, asserting what reached the server and how often.
//!
//! On Windows (`.ci/windows-tests` runs this binary under Wine) every test runs except
//! these, which need Unix and say so by `cfg` (and `windows`, which runs there only):
//! - `curl`, `curl_trust`, `retry`: run the system curl and bash, which a Windows test run
//!   does not have (`tok curl`'s Windows pipe is tested by `windows`, with a stand-in
//!   curl.exe);
//! - `exec`: runs `sh`, and checks Unix's exec (the command takes tok's pid);
//! - `proxy`: stops the gateway with SIGTERM and uses curl, Python and libfaketime
//!   (`windows::tok_proxy_serves_with_the_profiles_credential` runs one there);
//! - `files`, `network::a_read_only_tok_home_still_prints_from_the_environment`: Unix
//!   modes, owners and SIGKILL;
//! - `first_hour::a_profile_remembers_its_store`,
//!   `first_hour::logins_say_what_they_checked_and_status_shows_unverified_keys`,
//!   `nexterpay::environment_only_print_without_a_keyring_still_prints`,
//!   `nexterpay::login_without_a_keyring_fails_before_sending_anything`: make the keyring
//!   unreachable through `DBUS_SESSION_BUS_ADDRESS`, or use curl;
//! - `network::tok_is_not_dumpable`, `prove::a_sixty_megabyte_reply_is_refused_in_little_memory`,
//!   the `/proc` checks in `prove::no_secret_reaches_logs_errors_config_or_argv`,
//!   `nexterpay::a_local_clock_behind_is_visible_too` (libfaketime): Linux only;
//! - `mtls`: curl, a `sh` stand-in curl, and `tok curl`'s certificate pipes (Unix only);
//! - `authcode`: `sh` browsers, curl, SIGINT and the oidc harness;
//! - `oidc`: runs the real oidc-provider under node, its browser stand-in through a `/bin/sh`
//!   wrapper, and closes the server by its stdin pipe (`oidc_bound`, `oidc_exchange` too);
//! - `keyring`: a real Secret Service (ignored everywhere but `.ci/secret-service-tests`).

mod support;

#[cfg(unix)]
mod authcode;
mod concurrency;
#[cfg(unix)]
mod curl;
#[cfg(unix)]
mod curl_trust;
mod device;
mod dpop;
#[cfg(unix)]
mod dpop_use;
mod exchange;
#[cfg(unix)]
mod exec;
mod faults;
#[cfg(unix)]
mod files;
mod first_hour;
mod forgery;
mod id_token;
mod jwt;
mod keyring;
mod merchant_v2;
#[cfg(unix)]
mod mtls;
mod network;
mod nexterpay;
mod oauth2;
#[cfg(unix)]
mod oidc;
#[cfg(unix)]
mod oidc_bound;
#[cfg(unix)]
mod oidc_exchange;
mod prove;
#[cfg(unix)]
mod proxy;
#[cfg(unix)]
mod retry;
mod scrub;
#[cfg(unix)]
mod shared_cache;
mod store;
mod usage;
#[cfg(windows)]
mod windows;
