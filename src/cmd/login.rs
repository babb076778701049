use crate::cli::LoginArgs;
use crate::config::ConfigFile;
use crate::error::{Error, Result};
use crate::flow::{self, App};
use crate::input::{self, Secrets};
use crate::profile::{self, Profile, env_name};
use crate::provider;
use crate::store::StoreKind;
use crate::term;
use crate::token;

pub fn login(app: &App, args: &LoginArgs) -> Result<()> {
    let config = ConfigFile::load(&app.paths.config_file)?;
    let saved = config.profiles.get(&args.profile);
    let known = super::known_profiles(&app.paths, &config);
    if let Some(twin) = profile::variable_twin(&args.profile, known.iter().map(String::as_str)) {
        return Err(profile::twin_error(
            &args.profile,
            twin,
            "a second login would take the first one's credentials from the environment",
        ));
    }
    let mut flags = args.settings();
    // The certificate's text, not its path, is the setting: moving the file breaks nothing.
    if let Some(file) = &args.client_cert {
        flags.push((crate::client_cert::SETTING, crate::client_cert::read_chain(file)?));
    }
    let mut profile = profile::resolve(&args.profile, args.provider, &flags, saved)?;
    // On a terminal, ask for missing settings instead of failing.
    if !args.secret_stdin {
        for asked in profile.provider.prompted(&profile) {
            if profile.get(asked.field).is_none()
                && let Some(value) = input::prompt_line(asked.prompt.unwrap_or(asked.field))?
            {
                flags.push((asked.field, value));
            }
        }
        profile = profile::resolve(&args.profile, args.provider, &flags, saved)?;
    }
    // `--issuer`: the endpoints come from the metadata, once, unless a flag names them.
    let found = provider::discover(&profile, &app.http)?;
    if !found.is_empty() {
        // An mTLS alias does not override an endpoint named by a flag either.
        let given: Vec<&str> = flags.iter().map(|(f, _)| *f).collect();
        let named = |f: &str| given.contains(&f);
        // The mTLS aliases matter only to a profile with a client certificate (RFC 8705 §5).
        let has_cert = profile.get(crate::client_cert::SETTING).is_some();
        for (field, value) in found {
            let alias = field.strip_prefix("mtls_");
            if alias.is_some() && !has_cert {
                continue;
            }
            if !named(field) && !alias.is_some_and(named) {
                flags.push((field, value));
            }
        }
        profile = profile::resolve(&args.profile, args.provider, &flags, saved)?;
    }
    check_flags(args, &profile)?;
    let missing = profile.provider.missing(&profile);
    if !missing.is_empty() {
        return Err(missing_settings(&profile, &missing));
    }
    // Bad settings and an unusable store fail here, before anything is sent.
    let identity = provider::identity(&profile)?;
    let kind = app.explicit_store()?.or(profile.store).unwrap_or(StoreKind::Keyring);
    // The secrets an existing profile already has stay where they are unless replaced.
    let previous = match (profile.saved, profile.store) {
        (true, Some(previous)) => Some(app.open(previous)?),
        // Logged in before profiles remembered their store: the one in force then.
        (true, None) => Some(app.open(app.explicit_store()?.unwrap_or(StoreKind::Keyring))?),
        (false, _) => None,
    };
    profile.store = Some(kind);
    let store = app.open(kind)?;
    store.check(&profile.name)?;

    let subject = flow::subject_token(app, &profile)?;
    let _lock = app.lock(&profile.name)?;
    let mut secrets = Secrets::for_login(&profile.name, previous.as_ref(), args.secret_stdin);
    secrets.set_subject(subject);
    if let Some(file) = &args.key_file {
        secrets.provide("private_key", provider::read_private_key(file)?);
    } else if profile.get("auth") == Some("private_key_jwt")
        && previous.as_ref().and_then(|s| s.secret(&profile.name, "private_key").ok().flatten()).is_none()
        && profile::env_value(&profile.name, "private_key").is_none()
    {
        return Err(Error::usage(
            "--auth private_key_jwt needs the client's private key: give --key-file FILE (or - for stdin)",
        )
        .hint(format!("for example: {} --key-file client.key", profile.login_example())));
    }
    super::login_dpop::key(&profile, args.dpop_key_file.as_deref(), previous.as_ref(), &mut secrets)?;
    client_key(args, &profile, previous.as_ref(), &mut secrets)?;
    let record = provider::obtain(&profile, &app.http, &mut secrets, None)?;
    // Only a request the provider answered proves a key that tok merely signs or keeps.
    profile.verified = None;
    if args.check {
        let check =
            profile.provider.spec().ops.check.expect("check_flags allows --check only where it exists");
        check(&profile, &app.http, &record)?;
        profile.verified = Some(token::now());
    }
    let mut collected = secrets.collected();
    collected.extend(super::shared_cache::password_to_keep(&profile, previous.as_ref()));
    store.put_login(
        &profile.name,
        &collected,
        (!identity.api_key).then_some(&record),
        &crate::provider::Provider::every_secret_field(),
    )?;

    let _config_lock = app.lock(".config")?;
    let mut config = ConfigFile::load(&app.paths.config_file)?;
    config.profiles.insert(profile.name.clone(), profile.saved());
    config.save(&app.paths.config_file)?;
    term::note(&format!(
        "logged in: {} ({}), {}",
        profile.name,
        profile.provider.name(),
        what_was_checked(&profile, &record, &identity, store.describe())
    ));
    if !identity.api_key {
        super::shared_cache::publish(app, &profile, &identity.binding, &store, &record)?;
    }
    Ok(())
}

/// Says exactly what the login proved: a token fetched from the provider proves the
/// credentials; a JWT signed locally or a stored API key proves nothing yet.
fn what_was_checked(
    profile: &Profile,
    record: &token::TokenRecord,
    identity: &provider::Identity,
    store: String,
) -> String {
    match (identity.unchecked_login, profile.verified.is_some(), identity.api_key) {
        (false, _, _) => format!("token {}; kept in the {store}", flow::expiry_text(record)),
        (true, true, _) => format!("the provider accepted a request made with it; kept in the {store}"),
        (true, false, true) => format!(
            "the API key is stored in the {store} but not checked: the provider documents no call that checks it without side effects, so it is checked on first use"
        ),
        (true, false, false) => format!(
            "signed locally and kept in the {store}; the key is checked on first use (or now, with --check)"
        ),
    }
}

/// Flags that would do nothing for this provider are usage errors, not silently ignored.
fn check_flags(args: &LoginArgs, profile: &Profile) -> Result<()> {
    let spec = profile.provider.spec();
    if args.secret_stdin && spec.secrets.is_empty() {
        return Err(Error::usage(format!("{} has no secret: --secret-stdin would read nothing", spec.name)));
    }
    if args.key_file.is_some() && profile.get("auth") != Some("private_key_jwt") {
        return Err(Error::usage(
            "--key-file is the private_key_jwt key: it needs --auth private_key_jwt (oauth2)",
        ));
    }
    super::login_dpop::check_flags(args, profile)?;
    if args.client_key_file.is_some() && profile.get(crate::client_cert::SETTING).is_none() {
        return Err(Error::usage(
            "--client-key-file is the key of a TLS client certificate: it needs --client-cert",
        ));
    }
    let stdin_readers = [
        args.secret_stdin,
        args.key_file.as_deref() == Some("-"),
        args.client_key_file.as_deref() == Some("-"),
        args.dpop_key_file.as_deref() == Some("-"),
    ];
    if stdin_readers.iter().filter(|r| **r).count() > 1 {
        return Err(Error::usage(
            "only one of --secret-stdin, --key-file -, --client-key-file - and --dpop-key-file - can read stdin",
        ));
    }
    if args.key_file.as_deref() == Some("-") && args.secret_stdin {
        return Err(Error::usage("--key-file - and --secret-stdin would both read stdin"));
    }
    if let Some(hosts) = profile.get("allow_host") {
        super::curl_hosts::parse_allowed(hosts).map_err(Error::usage)?;
    }
    if args.check && spec.ops.check.is_none() {
        let why = if provider::identity(profile).is_ok_and(|i| i.unchecked_login) {
            "its documents offer no call that checks a credential without side effects"
        } else {
            "a login already checks the credentials by fetching a token"
        };
        return Err(Error::usage(format!("--check does nothing for {}: {why}", spec.name)));
    }
    Ok(())
}

/// The TLS client certificate's key (RFC 8705): from `--client-key-file` (`-`: stdin),
/// else the one stored before or `TOK_<P>_CLIENT_KEY`; checked against the certificate
/// before anything is sent, so a mismatch is the user's to fix, not a failed handshake.
fn client_key(
    args: &LoginArgs,
    profile: &Profile,
    previous: Option<&crate::store::Store>,
    secrets: &mut Secrets,
) -> Result<()> {
    use crate::client_cert::{KEY_LABEL, SECRET, SETTING};
    let Some(chain) = profile.get(SETTING) else { return Ok(()) };
    if let Some(file) = &args.client_key_file {
        secrets.provide(SECRET, crate::client_cert::read_key(file)?);
    } else if previous.and_then(|s| s.secret(&profile.name, SECRET).ok().flatten()).is_none()
        && profile::env_value(&profile.name, SECRET).is_none()
    {
        return Err(Error::usage(
            "--client-cert needs the certificate's private key: give --client-key-file FILE (or - for stdin)",
        )
        .hint(format!("for example: {} --client-key-file client.key", profile.login_example())));
    }
    let key = secrets.get(SECRET, KEY_LABEL)?;
    crate::client_cert::check_pair(chain, &key)
}

/// Every missing setting at once, with the flags and variables that give them and a
/// complete example.
fn missing_settings(profile: &Profile, missing: &[&provider::Setting]) -> Error {
    let list: Vec<String> = missing
        .iter()
        .map(|s| {
            format!("{} ({} or {})", s.field.replace('_', " "), s.flag, env_name(&profile.name, s.field))
        })
        .collect();
    Error::usage(format!(
        "the {} profile '{}' needs {}: {}",
        profile.provider.name(),
        profile.name,
        if missing.len() == 1 { "a setting" } else { "settings" },
        list.join(", ")
    ))
    .hint(match profile.secret_sources() {
        Some(secret) => format!("for example: {}; {secret}", profile.login_example()),
        None => format!("for example: {}", profile.login_example()),
    })
}
