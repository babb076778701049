//! One function per command. Each takes the validated `App` and its own arguments.

mod completions;
mod curl;
mod curl_args;
mod curl_dpop;
mod curl_dump;
mod curl_hosts;
mod curl_options;
mod curl_tls;
mod exec;
mod exec_proxy;
mod inspect;
mod login;
mod login_dpop;
mod logout;
mod man;
mod print;
mod print_dpop;
mod providers;
mod shared_cache;
mod sign;
mod status;

pub use completions::{answer_if_asked, completions, login_candidates, profile_candidates};
pub use curl::curl;
pub use exec::exec;
pub use inspect::inspect;
pub use login::login;
pub use logout::logout;
pub use man::man;
pub use print::{print, refresh};
pub use providers::providers;
pub use sign::sign;
pub use status::status;

use crate::config::{ConfigFile, Loaded};
use crate::error::Result;
use crate::flow::App;
use crate::profile::{self, Profile};

/// Every profile tok knows of: saved in `config.toml`, or with a file in the file store
/// (an environment-only CI job leaves only that). Sorted, once each.
fn known_profiles(paths: &crate::config::Paths, config: &ConfigFile) -> Vec<String> {
    let files = crate::store::FileStore::new(paths.store_dir.clone()).profiles();
    let names: std::collections::BTreeSet<String> = config.profiles.keys().cloned().chain(files).collect();
    names.into_iter().collect()
}

/// A profile for a command that uses an existing login (or the environment alone).
pub(crate) fn existing_profile(app: &App, name: &str) -> Result<Profile> {
    // Only this profile's table where the file allows: the cost of a cached print does
    // not grow with the other profiles. The names are for "did you mean", when it is absent.
    let (saved, known) = match ConfigFile::load_one(&app.paths.config_file, name)? {
        Loaded::One(settings) => (Some(settings), Vec::new()),
        Loaded::All(mut config) => {
            let known: Vec<String> = config.profiles.keys().cloned().collect();
            (config.profiles.remove(name), known)
        }
    };
    let profile = profile::resolve_among(name, None, &[], saved.as_ref(), &known)?;
    profile::warn_misspelt_variables(&profile);
    Ok(profile)
}

/// Records that a request made with the profile's credential succeeded, for profiles
/// whose login could not check it (`tok status` stops calling them unverified).
pub(crate) fn mark_verified(app: &App, profile: &Profile) -> Result<()> {
    let _lock = app.lock(".config")?;
    let mut config = ConfigFile::load(&app.paths.config_file)?;
    // Only a saved profile has somewhere to keep it; an environment-only one has not.
    if let Some(settings) = config.profiles.get_mut(&profile.name) {
        settings.insert("verified".into(), crate::token::now().to_string());
        config.save(&app.paths.config_file)?;
        crate::term::verbose!("{}: the API accepted the credential; marked as verified", profile.name);
    }
    Ok(())
}
