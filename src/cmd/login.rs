use crate::cli::LoginArgs;
use crate::config::ConfigFile;
use crate::error::Result;
use crate::flow::{self, App};
use crate::input::{self, Secrets};
use crate::profile;
use crate::provider;
use crate::term;

pub fn login(app: &App, args: &LoginArgs) -> Result<()> {
    let config = ConfigFile::load(&app.paths.config_file)?;
    let mut flags = args.settings();
    let mut profile =
        profile::resolve(&args.profile, args.provider, &flags, config.profiles.get(&args.profile))?;
    // On a terminal, ask for missing settings instead of failing.
    if !args.secret_stdin {
        for asked in profile.provider.prompted(&profile) {
            if profile.get(asked.field).is_none()
                && let Some(value) = input::prompt_line(asked.prompt.unwrap_or(asked.field))?
            {
                flags.push((asked.field, value));
            }
        }
        profile = profile::resolve(&args.profile, args.provider, &flags, config.profiles.get(&args.profile))?;
    }
    // Bad settings and an unusable store fail here, before anything is sent.
    let identity = provider::identity(&profile)?;
    let store = app.store();
    store.check(&profile.name)?;

    let _lock = app.lock(&profile.name)?;
    // A login asks afresh: saved secrets are what it replaces.
    let mut secrets = Secrets::new(&profile.name, None, args.secret_stdin);
    let record = provider::obtain(&profile, &app.http, &mut secrets, None)?;
    store.put_login(&profile.name, &secrets.collected(), (!identity.api_key).then_some(&record))?;

    let _config_lock = app.lock(".config")?;
    let mut config = ConfigFile::load(&app.paths.config_file)?;
    config.profiles.insert(profile.name.clone(), profile.saved());
    config.save(&app.paths.config_file)?;
    term::note(&format!(
        "logged in: {} ({}), {}; kept in the {}",
        profile.name,
        profile.provider.name(),
        flow::expiry_text(&record),
        store.describe()
    ));
    Ok(())
}
