//! `tok login --dpop`: the profile's DPoP key, read from `--dpop-key-file` or kept from
//! the last login, else made now; always handed to the login's secrets, so the store
//! keeps exactly one (a login replaces the secrets it does not collect).

use crate::cli::LoginArgs;
use crate::dpop;
use crate::error::{Error, Result};
use crate::input::Secrets;
use crate::profile::{self, Profile};
use crate::store::Store;
use crate::term::verbose;

pub fn check_flags(args: &LoginArgs, profile: &Profile) -> Result<()> {
    if (args.dpop || args.dpop_key_file.is_some()) && profile.provider.name() != "oauth2" {
        return Err(Error::usage("--dpop is for the generic oauth2 provider (--provider oauth2)"));
    }
    if args.dpop_key_file.is_some() && !dpop::enabled(profile) {
        return Err(Error::usage("--dpop-key-file is the DPoP key: it needs --dpop"));
    }
    Ok(())
}

pub fn key(
    profile: &Profile,
    file: Option<&str>,
    previous: Option<&Store>,
    secrets: &mut Secrets,
) -> Result<()> {
    if !dpop::enabled(profile) {
        return Ok(());
    }
    if let Some(file) = file {
        secrets.provide(dpop::KEY_FIELD, dpop::read_key_file(file)?);
        return Ok(());
    }
    // A variable given for the key is used where secrets are read (`Secrets::get`).
    if profile::env_value(&profile.name, dpop::KEY_FIELD).is_some() {
        return Ok(());
    }
    if let Some(kept) = previous.and_then(|s| s.secret(&profile.name, dpop::KEY_FIELD).ok().flatten()) {
        verbose!("{}: keeping the DPoP key of the last login", profile.name);
        secrets.provide(dpop::KEY_FIELD, kept);
        return Ok(());
    }
    verbose!("{}: making a DPoP key (EC P-256)", profile.name);
    secrets.provide(dpop::KEY_FIELD, dpop::generate()?);
    Ok(())
}
