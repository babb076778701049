use crate::cli::LogoutArgs;
use crate::config::ConfigFile;
use crate::error::Result;
use crate::flow::App;
use crate::provider::Provider;
use crate::term;

pub fn logout(app: &App, args: &LogoutArgs) -> Result<()> {
    sweep_temporaries(app);
    let names: Vec<String> = match &args.profile {
        Some(name) => vec![name.clone()],
        None => {
            let names = super::known_profiles(&app.paths, &ConfigFile::load(&app.paths.config_file)?);
            if names.is_empty() {
                term::note("no profiles to log out of");
            }
            names
        }
    };
    for name in names {
        if args.shared {
            super::shared_cache::forget(app, &name)?;
        }
        forget(app, &name)?;
    }
    Ok(())
}

fn forget(app: &App, name: &str) -> Result<()> {
    // The whole file first, as it is written back below: `existing_profile` reads only
    // this profile's table, and an error elsewhere must stop the logout before the store
    // loses anything.
    ConfigFile::load(&app.paths.config_file)?;
    let profile = super::existing_profile(app, name)?;
    let store = app.store_for(&profile)?;
    let _lock = app.lock(&profile.name)?;
    // The store first: if it fails, the profile stays listed and can be retried. Every
    // secret field there is, not only this provider's: the profile may have had another
    // provider or mode before (tokens and secrets of each are separate entries).
    let had_secrets = store.forget(&profile.name, &Provider::every_secret_field())?;
    let _config_lock = app.lock(".config")?;
    let mut config = ConfigFile::load(&app.paths.config_file)?;
    let had_config = config.profiles.remove(&profile.name).is_some();
    if had_config {
        config.save(&app.paths.config_file)?;
    }
    if had_secrets || had_config {
        term::note(&format!("logged out: {} (settings, secrets and token removed)", profile.name));
    } else {
        term::note(&format!("nothing was stored for {}", profile.name));
    }
    Ok(())
}

/// A first login killed between writing its temporary file and renaming it leaves the
/// password in a file no profile owns, so no logout of that profile would find it: every
/// logout, of any name, removes what killed writers left, each under its profile's lock
/// (a live writer finishes first).
fn sweep_temporaries(app: &App) {
    let files = crate::store::FileStore::new(app.paths.store_dir.clone());
    for name in files.with_temporaries() {
        let swept = app.lock(&name).and_then(|_lock| files.remove_temporaries(&name));
        match swept {
            Ok(()) => term::verbose!("removed the temporary files a killed tok left for {name}"),
            Err(e) => term::warn(&format!("cannot remove the temporary files left for {name}: {e}")),
        }
    }
}
