//! The shared cache in `tok logout --shared` and `tok status P`.

use crate::error::{Error, Result};
use crate::flow::App;
use crate::profile::Profile;
use crate::provider;
use crate::store::shared;
use crate::term;

/// Deletes the fleet's entry of `name` (before the local store forgets the secrets it is
/// sealed with).
pub fn forget(app: &App, name: &str) -> Result<()> {
    let profile = super::existing_profile(app, name)?;
    let store = app.store_for(&profile)?;
    let binding = provider::identity(&profile)?.binding;
    let Some(fleet) = crate::flow::fleet(app, &profile, &binding, &store, false)? else {
        return Err(Error::usage(format!("--shared: {name} uses no shared cache"))
            .hint("set TOK_SHARED_CACHE (or --shared-cache) to the fleet's cache"));
    };
    match fleet.forget()? {
        Some(true) => term::note(&format!("deleted the fleet's token of {name} from the shared cache")),
        Some(false) => term::note(&format!("the shared cache held no token of {name}")),
        None => return Err(Error::store(format!("the fleet's token of {name} could not be deleted"))),
    }
    Ok(())
}

/// Lines for `tok status P`: whether the shared cache is used, and what the fleet did.
pub fn status_lines(app: &App, profile: &Profile) -> Vec<(&'static str, String)> {
    let get = |field: &str| profile.get(field).map(str::to_string);
    let config = match shared::Config::of(&profile.name, &get) {
        Ok(Some(config)) => config,
        Ok(None) => return Vec::new(),
        Err(e) => return vec![("shared cache", e.to_string())],
    };
    let identity = match provider::identity(profile) {
        Ok(identity) => identity,
        Err(e) => return vec![("shared cache", e.to_string())],
    };
    if let Some(why) = shared::unsuitable(profile.provider.name(), identity.api_key) {
        return vec![("shared cache", format!("not used: {why}"))];
    }
    let place = config.describe();
    let fleet = app
        .store_for(profile)
        .and_then(|store| crate::flow::fleet(app, profile, &identity.binding, &store, false));
    let report = match fleet {
        Ok(Some(fleet)) => fleet.report(),
        Ok(None) => {
            return vec![(
                "shared cache",
                format!("{place}: not used (no secret at hand to seal with; -v says more)"),
            )];
        }
        Err(e) => Err(e),
    };
    match report {
        Ok(Some(r)) => {
            let mut lines = vec![(
                "shared cache",
                format!(
                    "{place}: {}",
                    r.entry
                        .map(|e| format!("the fleet's token {e}"))
                        .unwrap_or_else(|| "no fleet token".into())
                ),
            )];
            lines.push(("mints today", format!("{} (the fleet, UTC)", r.mints_today)));
            if let Some(holder) = r.holder {
                lines.push(("refreshing now", holder));
            }
            if r.unreadable > 0 {
                lines.push((
                    "unreadable values",
                    format!("{} (not sealed with this profile's credential; replaced)", r.unreadable),
                ));
            }
            lines
        }
        Ok(None) => vec![("shared cache", format!("{place}: unreachable (see the warning)"))],
        Err(e) => vec![("shared cache", e.to_string())],
    }
}
