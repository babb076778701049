//! One function per command. Each takes the validated `App` and its own arguments.

mod completions;
mod curl;
mod curl_args;
mod curl_options;
mod inspect;
mod login;
mod logout;
mod print;
mod sign;
mod status;

pub use completions::completions;
pub use curl::curl;
pub use inspect::inspect;
pub use login::login;
pub use logout::logout;
pub use print::{print, refresh};
pub use sign::sign;
pub use status::status;

use crate::config::ConfigFile;
use crate::error::Result;
use crate::flow::App;
use crate::profile::{self, Profile};

/// A profile for a command that uses an existing login (or the environment alone).
fn existing_profile(app: &App, name: &str) -> Result<Profile> {
    let config = ConfigFile::load(&app.paths.config_file)?;
    profile::resolve(name, None, &[], config.profiles.get(name))
}
