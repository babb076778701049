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
    let Some(fleet) = crate::flow::fleet(app, &profile, &binding, Some(&store), false)? else {
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

/// The cache's password a login keeps in the profile's store, when the profile has a
/// cache: TOK_SHARED_CACHE_PASSWORD, else the one kept before (a store's login replaces
/// all of the profile's secrets). So later commands need no password in the environment.
pub fn password_to_keep(
    profile: &Profile,
    previous: Option<&crate::store::Store>,
) -> Option<(&'static str, crate::secret::Secret)> {
    let get = |field: &str| profile.get(field).map(str::to_string);
    shared::Config::of(&profile.name, &get).ok().flatten()?;
    let value = std::env::var("TOK_SHARED_CACHE_PASSWORD")
        .ok()
        .filter(|v| !v.is_empty())
        .map(crate::secret::Secret::new)
        .or_else(|| previous.and_then(|s| s.secret(&profile.name, shared::PASSWORD_FIELD).ok().flatten()))?;
    Some((shared::PASSWORD_FIELD, value))
}

/// Hands the token a login got to the fleet, so the first `tok print` of another machine
/// does not get one more. Written against the version read, as any refresh's (a machine
/// that wrote meanwhile keeps its token), and counted as a mint. A cache fault is the
/// usual warning, or exit 6 when the cache is required (the login itself is kept).
pub fn publish(
    app: &App,
    profile: &Profile,
    binding: &str,
    store: &crate::store::Store,
    record: &crate::token::TokenRecord,
) -> Result<()> {
    let Some(fleet) = crate::flow::fleet(app, profile, binding, Some(store), false)? else { return Ok(()) };
    fleet.token()?;
    fleet.put_token(record)?;
    crate::term::verbose!("{}: the login's token is the fleet's", profile.name);
    Ok(())
}

/// What `tok status P` says of the shared cache; `None` when none is set.
pub enum Status {
    NotUsed(&'static str),
    /// Set, with a secret to seal with: all the list says, as it connects to nothing.
    Configured {
        place: String,
    },
    NoSecret {
        place: String,
    },
    Report {
        place: String,
        report: shared::Report,
    },
    Unreachable {
        place: String,
    },
    Error(String),
}

/// `connect`: ask the cache how the fleet is (`tok status P`); else say what the
/// settings and the store say (the list of all profiles: no network).
pub fn status(app: &App, profile: &Profile, connect: bool) -> Option<Status> {
    let get = |field: &str| profile.get(field).map(str::to_string);
    let config = match shared::Config::of(&profile.name, &get) {
        Ok(Some(config)) => config,
        Ok(None) => return None,
        Err(e) => return Some(Status::Error(e.to_string())),
    };
    let identity = match provider::identity(profile) {
        Ok(identity) => identity,
        Err(e) => return Some(Status::Error(e.to_string())),
    };
    if let Some(why) = shared::unsuitable(profile.provider.name(), identity.api_key) {
        return Some(Status::NotUsed(why));
    }
    let place = config.describe();
    let fleet = app
        .store_for(profile)
        .and_then(|store| crate::flow::fleet(app, profile, &identity.binding, Some(&store), false));
    if !connect {
        return Some(match fleet {
            Ok(None) => Status::NoSecret { place },
            Ok(Some(_)) => Status::Configured { place },
            Err(e) => Status::Error(e.to_string()),
        });
    }
    Some(match fleet.and_then(|f| f.map(|f| f.report()).transpose()) {
        Ok(None) => Status::NoSecret { place },
        Ok(Some(Some(report))) => Status::Report { place, report },
        Ok(Some(None)) => Status::Unreachable { place },
        Err(e) => Status::Error(e.to_string()),
    })
}

/// `tok status P`'s lines.
pub fn status_lines(status: &Status) -> Vec<(&'static str, String)> {
    match status {
        Status::NotUsed(why) => vec![("shared cache", format!("not used: {why}"))],
        Status::Configured { place } => vec![("shared cache", format!("{place}: configured"))],
        Status::NoSecret { place } => {
            vec![(
                "shared cache",
                format!("{place}: not used (no secret at hand to seal with; -v says more)"),
            )]
        }
        Status::Unreachable { place } => {
            vec![("shared cache", format!("{place}: unreachable (see the warning)"))]
        }
        Status::Error(e) => vec![("shared cache", e.clone())],
        Status::Report { place, report: r } => {
            let entry = r.entry.as_ref().map(|e| format!("the fleet's token {e}"));
            let mut lines = vec![(
                "shared cache",
                format!("{place}: {}", entry.unwrap_or_else(|| "no fleet token".into())),
            )];
            lines.push(("mints today", format!("{} (the fleet, UTC)", r.mints_today)));
            if let Some(holder) = &r.holder {
                lines.push(("refreshing now", holder.clone()));
            }
            if r.unreadable > 0 {
                lines.push((
                    "unreadable values",
                    format!("{} (not sealed with this profile's credential; replaced)", r.unreadable),
                ));
            }
            lines
        }
    }
}

/// The list's SHARED column.
pub fn status_word(status: &Status) -> &'static str {
    match status {
        Status::Configured { .. } | Status::Report { .. } | Status::Unreachable { .. } => "configured",
        Status::NoSecret { .. } => "no secret",
        Status::NotUsed(_) => "not used",
        Status::Error(_) => "error",
    }
}

/// `tok status P --json`'s `shared_cache`, and the list's.
pub fn status_json(status: &Status) -> serde_json::Value {
    use serde_json::json;
    match status {
        Status::NotUsed(why) => json!({ "used": false, "reason": why }),
        Status::Configured { place } => json!({ "used": true, "url": place }),
        Status::NoSecret { place } => {
            json!({ "used": false, "url": place, "reason": "no secret at hand to seal with" })
        }
        Status::Unreachable { place } => json!({ "used": true, "url": place, "reachable": false }),
        Status::Error(e) => json!({ "used": false, "reason": e }),
        Status::Report { place, report: r } => json!({
            "used": true,
            "url": place,
            "reachable": true,
            "fleet_token": r.entry,
            "mints_today": r.mints_today,
            "lock_holder": r.holder,
            "unreadable": r.unreadable,
        }),
    }
}
