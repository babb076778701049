//! `tok status [PROFILE]`: the profiles and their tokens, or one profile in detail, as
//! `gh auth status` gives it. No network; never a secret.
//!
//! `--json` follows `schemas/status.json` and `schemas/status-profile.json`: one record
//! per profile with the same keys in the list as alone (the detail adds keys).

use crate::cli::StatusArgs;
use crate::config::ConfigFile;
use crate::duration;
use crate::error::{Error, Kind, Result};
use crate::flow::App;
use crate::output::{JSON_VERSION, rfc3339};
use crate::profile::{self, Profile, env_name, env_value};
use crate::provider;
use crate::store::{Store, StoreKind};
use crate::term::printable;
use crate::token::{self, TokenRecord};
use serde_json::{Map, Value, json};
use std::rc::Rc;

/// What a profile's token is, as far as the store tells without the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Valid,
    Expired,
    NoToken,
    /// Obtained with other settings (user, host, environment) than the current ones: the
    /// next print gets a new token instead.
    NotUsed,
    ApiKey,
    /// The store cannot be read (a CI runner without a keyring).
    Unknown,
    /// The profile's settings are unusable.
    Error,
}

impl State {
    fn json(self) -> &'static str {
        match self {
            State::Valid => "valid",
            State::Expired => "expired",
            State::NoToken => "no_token",
            State::NotUsed => "not_used",
            State::ApiKey => "api_key",
            State::Unknown => "unknown",
            State::Error => "error",
        }
    }

    fn text(self, verified: bool) -> &'static str {
        match (self, verified) {
            (State::Valid, false) => "unverified",
            (State::ApiKey, false) => "API key, unverified",
            (State::ApiKey, true) => "API key",
            (State::NoToken, _) => "no token",
            (State::NotUsed, _) => "not used",
            (other, _) => other.json(),
        }
    }
}

/// One profile, as both views show it.
struct Record {
    profile: String,
    provider: Option<String>,
    store: Option<StoreKind>,
    state: State,
    verified: bool,
    verified_at: Option<i64>,
    api_key: bool,
    token: Option<TokenRecord>,
    error: Option<String>,
    /// What the settings say of the shared cache (`None`: none is set).
    shared: Option<super::shared_cache::Status>,
}

pub fn status(app: &App, args: &StatusArgs) -> Result<()> {
    if let Some(name) = &args.profile {
        return detail(app, name, args.json);
    }
    let config = ConfigFile::load(&app.paths.config_file)?;
    let mut names = super::known_profiles(&app.paths, &config);
    // The CI case: a profile that lives in the environment alone is one `tok print`
    // serves, so the list shows it too.
    let twins: Vec<String> = names.clone();
    for name in environment_profiles() {
        if profile::variable_twin(&name, twins.iter().map(String::as_str)).is_none() && !names.contains(&name)
        {
            names.push(name);
        }
    }
    names.sort();
    let now = token::now();
    let mut failed = None;
    let mut stores = Stores::default();
    let records: Vec<Record> = names
        .into_iter()
        .map(|name| {
            let saved = config.profiles.get(&name);
            match profile::resolve(&name, None, &[], saved).and_then(|p| examine(app, &p, now, &mut stores)) {
                Ok((record, _, e)) => {
                    if let Some(e) = e {
                        failed.get_or_insert(e);
                    }
                    record
                }
                Err(e) => {
                    let record = Record {
                        profile: name,
                        provider: saved.and_then(|s| s.get("provider")).cloned(),
                        store: None,
                        state: State::Error,
                        verified: false,
                        verified_at: None,
                        api_key: false,
                        token: None,
                        error: Some(e.to_string()),
                        shared: None,
                    };
                    failed.get_or_insert(e);
                    record
                }
            }
        })
        .collect();

    let text = if args.json {
        let list: Vec<Value> = records.iter().map(|r| Value::Object(fields(r, now))).collect();
        format!("{}\n", json!({ "version": JSON_VERSION, "profiles": list }))
    } else {
        table(&records, now)
    };
    write(&text)?;
    if records.is_empty() && !args.json {
        crate::term::note("no profiles yet: run `tok login <provider>` (`tok providers` lists them)");
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Profiles the environment alone defines: a provider's own name with any of its
/// `TOK_<PROVIDER>_<FIELD>` variables set, and any `TOK_<NAME>_PROVIDER` (named with `-`
/// for `_`, which reads the same variables).
fn environment_profiles() -> Vec<String> {
    let vars: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("TOK_"))
        .collect();
    let mut names: Vec<String> = provider::Provider::all()
        .filter(|p| p.fields().chain(p.secrets()).any(|f| vars.contains(&profile::env_name(p.name(), f))))
        .map(|p| p.name().to_string())
        .collect();
    for var in &vars {
        let Some(middle) = var.strip_prefix("TOK_").and_then(|rest| rest.strip_suffix("_PROVIDER")) else {
            continue;
        };
        let name = middle.to_ascii_lowercase().replace('_', "-");
        if profile::validate_name(&name).is_ok()
            && profile::variable_twin(&name, names.iter().map(String::as_str)).is_none()
        {
            names.push(name);
        }
    }
    names
}

/// A resolved profile's record, its store, and the store's error when it could not be read
/// (then the state is `Unknown`).
/// Each store opened once for every profile in it.
#[derive(Default)]
struct Stores(Vec<(StoreKind, Rc<Store>)>);

impl Stores {
    fn open(&mut self, app: &App, kind: StoreKind) -> Result<Rc<Store>> {
        if let Some((_, store)) = self.0.iter().find(|(k, _)| *k == kind) {
            return Ok(Rc::clone(store));
        }
        let store = Rc::new(match app.open(kind)? {
            Store::File(files) => Store::File(files.holding()),
            other => other,
        });
        self.0.push((kind, Rc::clone(&store)));
        Ok(store)
    }
}

fn examine(
    app: &App,
    profile: &Profile,
    now: i64,
    stores: &mut Stores,
) -> Result<(Record, Rc<Store>, Option<Error>)> {
    let kind = app.store_kind(profile)?;
    let identity = provider::identity(profile)?;
    let store = stores.open(app, kind)?;
    let mut failure = None;
    let (state, token) = if identity.api_key {
        // An API key is a secret of its own; there is no token record to look at.
        (State::ApiKey, None)
    } else {
        match store.token(&profile.name) {
            Ok(None) => (State::NoToken, None),
            Ok(Some(r)) if r.binding != identity.binding => (State::NotUsed, Some(r)),
            Ok(Some(r)) if r.expires_at.is_some_and(|e| e <= now) => (State::Expired, Some(r)),
            Ok(Some(r)) => (State::Valid, Some(r)),
            Err(e) if e.kind() == Kind::Store => {
                failure = Some(e);
                (State::Unknown, None)
            }
            Err(e) => return Err(e),
        }
    };
    let record = Record {
        profile: profile.name.clone(),
        provider: Some(profile.provider.name().to_string()),
        store: Some(kind),
        state,
        // Verified means the credential of these settings was accepted: by a token the
        // provider issued for them (one stored under other settings, or none, proves
        // nothing), or, where a login cannot check it, by a request that succeeded.
        verified: if identity.unchecked_login {
            profile.saved && profile.verified.is_some()
        } else {
            matches!(state, State::Valid | State::Expired)
        },
        verified_at: profile.verified.filter(|_| identity.unchecked_login && profile.saved),
        api_key: identity.api_key,
        token,
        error: failure.as_ref().map(|e| e.to_string()),
        shared: super::shared_cache::status(app, profile, false),
    };
    Ok((record, store, failure))
}

/// The keys every record has, in the list and alone.
fn fields(r: &Record, now: i64) -> Map<String, Value> {
    let t = r.token.as_ref();
    let value = json!({
        "profile": r.profile,
        "provider": r.provider,
        "store": r.store.map(StoreKind::name),
        "state": r.state.json(),
        "verified": r.verified,
        "verified_at": r.verified_at.and_then(rfc3339),
        "api_key": r.api_key,
        "expires_at": t.and_then(|x| x.expires_at).and_then(rfc3339),
        "expires_in": t.and_then(|x| x.expires_in(now)),
        "obtained_at": t.and_then(|x| rfc3339(x.obtained_at)),
        "refresh_expires_at": t.and_then(|x| x.refresh_expires_at).and_then(rfc3339),
        "error": r.error,
        "shared_cache": r.shared.as_ref().map(super::shared_cache::status_json),
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn write(text: &str) -> Result<()> {
    crate::term::stdout(text.as_bytes())
}

fn expires(record: &TokenRecord, now: i64) -> String {
    let mut text = match record.expires_at {
        Some(at) => format!("{} ({})", duration::relative(at - now), rfc3339(at).unwrap_or_default()),
        None => "never".into(),
    };
    if let Some(at) = record.refresh_expires_at {
        let left = at - now;
        let when = if left > 0 { format!("in {}", duration::human(left)) } else { "expired".into() };
        text.push_str(&format!("; refresh token {when}"));
    }
    text
}

const OTHER_SETTINGS: &str = "obtained with other settings; the next print gets a new one";

fn table(records: &[Record], now: i64) -> String {
    if records.is_empty() {
        return String::new();
    }
    // Only where some profile has a shared cache: other lists keep their columns.
    let shared = records.iter().any(|r| r.shared.is_some());
    let cells: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let detail = match (r.state, &r.token, &r.error) {
                (_, _, Some(e)) => e.clone(),
                (State::NotUsed, _, _) => OTHER_SETTINGS.into(),
                (_, Some(rec), _) => expires(rec, now),
                (State::ApiKey, _, _) => "never".into(),
                _ => "-".into(),
            };
            let store = match (r.store, r.state) {
                (Some(kind), _) => kind.name().to_string(),
                (None, State::Error) => "-".into(),
                (None, _) => "?".into(),
            };
            // config.toml is text anybody may have edited: nothing from it moves the cursor.
            let mut row = vec![
                r.profile.clone(),
                printable(r.provider.as_deref().unwrap_or("?")),
                store,
                r.state.text(r.verified).to_string(),
            ];
            if shared {
                row.push(r.shared.as_ref().map_or("-", super::shared_cache::status_word).to_string());
            }
            row.push(printable(&detail));
            row
        })
        .collect();
    let mut header: Vec<String> = ["PROFILE", "PROVIDER", "STORE", "TOKEN"].map(String::from).into();
    if shared {
        header.push("SHARED".into());
    }
    header.push("EXPIRES".into());
    let last = header.len() - 1;
    let widths: Vec<usize> = (0..last)
        .map(|i| cells.iter().chain([&header]).map(|c| c[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in std::iter::once(&header).chain(&cells) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i < last {
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// Where a value of the profile came from: `TOK_<PROFILE>_<FIELD>` wins over
/// `config.toml`, as `profile::resolve` reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Environment,
    Config,
    /// Not set anywhere: the provider's default environment, or the provider named like the
    /// profile.
    Default,
}

impl Source {
    fn of(profile: &Profile, field: &str, present: bool) -> Source {
        match (env_value(&profile.name, field).is_some(), present) {
            (true, _) => Source::Environment,
            (false, true) => Source::Config,
            (false, false) => Source::Default,
        }
    }

    fn json(self) -> &'static str {
        match self {
            Source::Environment => "environment",
            Source::Config => "config",
            Source::Default => "default",
        }
    }

    fn text(self, profile: &Profile, field: &str) -> String {
        match self {
            Source::Environment => format!("from {}", env_name(&profile.name, field)),
            Source::Config => "from config.toml".into(),
            Source::Default => "the default".into(),
        }
    }
}

/// One profile in detail: provider, environment, account, hosts, store and where each
/// secret lives, token and refresh-token expiry, and where each setting came from.
fn detail(app: &App, name: &str, as_json: bool) -> Result<()> {
    let profile = super::existing_profile(app, name)?;
    let spec = profile.provider.spec();
    let now = token::now();
    let (record, store, failure) = examine(app, &profile, now, &mut Stores::default())?;
    if let Some(e) = &failure {
        crate::term::warn(&format!("the stored token cannot be read: {e}"));
    }
    let provider_source = match (env_value(name, "provider"), profile.saved) {
        (Some(_), _) => Source::Environment,
        (None, true) => Source::Config,
        (None, false) => Source::Default,
    };
    let env_setting = profile.get("env").map(str::to_string);
    let env_source = Source::of(&profile, "env", env_setting.is_some());
    let environment =
        env_setting.or_else(|| spec.environments.iter().find(|e| e.default).map(|e| e.name.to_string()));
    let mut hosts: Vec<(String, Option<&str>)> = Vec::new();
    match (profile.get("base_url"), &environment) {
        (Some(url), _) => hosts.push((url.to_string(), Some("base_url"))),
        (None, Some(env)) => hosts
            .extend(spec.environments.iter().filter(|e| e.name == *env).map(|e| (e.host.to_string(), None))),
        (None, None) => {}
    }
    if let Some(url) = profile.get("token_url") {
        hosts.push((url.to_string(), Some("token_url")));
    }
    // Every setting the profile has, in the provider's order, with where it came from.
    let settings: Vec<(&str, String, Source)> = spec
        .settings
        .iter()
        .chain(provider::COMMON_SETTINGS)
        .filter_map(|s| {
            // A certificate chain is shown by its thumbprint (RFC 8705's x5t#S256), not its PEM.
            let shown = |v: &str| match s.field {
                crate::client_cert::SETTING => {
                    format!("x5t#S256 {}", crate::client_cert::thumbprint(v).unwrap_or_default())
                }
                _ => printable(v),
            };
            profile.get(s.field).map(|v| (s.field, shown(v), Source::of(&profile, s.field, true)))
        })
        .collect();
    let secrets: Vec<(&provider::SecretField, Place)> = profile
        .provider
        .needed_secrets(&profile)
        .into_iter()
        .map(|s| (s, secret_place(&profile, s.field, &store)))
        .collect();
    let fleet = super::shared_cache::status(app, &profile, true);
    if as_json {
        let mut value = fields(&record, now);
        value.insert("shared_cache".into(), json!(fleet.as_ref().map(super::shared_cache::status_json)));
        value.insert("version".into(), JSON_VERSION.into());
        value.insert("provider_source".into(), provider_source.json().into());
        value.insert("environment".into(), json!(environment));
        value.insert("environment_source".into(), json!(environment.as_ref().map(|_| env_source.json())));
        let map: Map<String, Value> = settings
            .iter()
            .map(|(k, v, source)| (k.to_string(), json!({ "value": v, "source": source.json() })))
            .collect();
        value.insert("settings".into(), Value::Object(map));
        value.insert("hosts".into(), json!(hosts.iter().map(|(h, _)| h).collect::<Vec<_>>()));
        let secrets: Vec<Value> = secrets
            .iter()
            .map(|(s, place)| {
                json!({
                    "field": s.field,
                    "label": s.label,
                    "variable": env_name(name, s.field),
                    "source": place.json(),
                })
            })
            .collect();
        value.insert("secrets".into(), Value::Array(secrets));
        value.insert(
            "refresh_token_held".into(),
            json!(record.token.as_ref().is_some_and(|r| r.refresh_token.is_some())),
        );
        value.insert(
            "id_token_held".into(),
            json!(record.token.as_ref().is_some_and(|r| r.id_token.is_some())),
        );
        value.insert("clock_skew".into(), json!(record.token.as_ref().and_then(|r| r.clock_skew)));
        return write(&format!("{}\n", Value::Object(value)));
    }
    let mut lines = vec![(name.to_string(), String::new())];
    let mut add = |k: &str, v: String| lines.push((format!("  {k}"), v));
    let by_name = if provider_source == Source::Default {
        "named like the profile".into()
    } else {
        provider_source.text(&profile, "provider")
    };
    add("provider", format!("{} ({}), {by_name}", spec.name, spec.title));
    if let Some(env) = &environment {
        add("environment", format!("{env} ({})", env_source.text(&profile, "env")));
    }
    for (k, v, source) in settings.iter().filter(|(k, _, _)| !matches!(*k, "env" | "base_url" | "token_url"))
    {
        add(&k.replace('_', " "), format!("{v} ({})", source.text(&profile, k)));
    }
    for (k, v) in provider::describe(&profile).into_iter().filter(|(k, _)| profile.get(k).is_none()) {
        add(k, format!("{v} (the default)"));
    }
    let hosts_text: Vec<String> = hosts
        .iter()
        .map(|(host, field)| match field {
            Some(field) => {
                format!("{} ({})", printable(host), Source::of(&profile, field, true).text(&profile, field))
            }
            None => format!("{host} (the {} environment)", environment.as_deref().unwrap_or("default")),
        })
        .collect();
    add("hosts", if hosts.is_empty() { "-".into() } else { hosts_text.join(", ") });
    let store_text = match &failure {
        Some(_) => format!("{} (cannot be read here; tokens are not kept)", store.describe()),
        None => store.describe(),
    };
    add("store", store_text);
    for (s, place) in &secrets {
        add(s.label, place.text(&profile, s.field, record.store));
    }
    match (&record.token, record.state) {
        (_, State::ApiKey) => add("token", "the API key itself; it does not expire".into()),
        (_, State::Unknown) => add("token", "unknown: the store cannot be read".into()),
        (Some(r), State::NotUsed) => {
            add("token", format!("not used: {OTHER_SETTINGS} (stored one {})", expires(r, now)))
        }
        (Some(r), _) => add("token", expires(r, now)),
        (None, _) => add("token", "none stored".into()),
    }
    if let Some(r) = &record.token
        && profile.provider.name() == "oauth2"
    {
        // Whether one is held, never its value.
        add("refresh token", if r.refresh_token.is_some() { "held" } else { "none" }.into());
        add("ID token", id_token_text(r.id_token.as_ref(), now));
    }
    let verified = match (record.verified, record.verified_at) {
        (true, None) => "the provider issued the stored token for these settings".to_string(),
        (true, Some(at)) => format!("a request succeeded with it ({})", rfc3339(at).unwrap_or_default()),
        (false, _) => "not yet: checked on first use".to_string(),
    };
    add("verified", verified);
    for (k, v) in fleet.as_ref().map(super::shared_cache::status_lines).unwrap_or_default() {
        add(k, v);
    }
    if let Some(skew) = record.token.as_ref().and_then(|r| r.clock_skew).filter(|s| s.abs() > 60) {
        add(
            "clock",
            format!(
                "{} (at the last token); tok decides on this machine's",
                crate::http::skew_text(spec.name, skew)
            ),
        );
    }
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let text: String = lines
        .iter()
        .map(|(k, v)| if v.is_empty() { format!("{k}\n") } else { format!("{k:width$}  {v}\n") })
        .collect();
    write(&text)
}

/// Whether an OpenID Connect ID token is held and, by its `exp`, until when; never its value.
fn id_token_text(id_token: Option<&crate::secret::Secret>, now: i64) -> String {
    let Some(id_token) = id_token else { return "none".into() };
    match crate::jwt::decode(id_token.expose()).ok().and_then(|claims| claims.time("exp")) {
        Some(exp) if exp.abs() < 1e15 => format!("held, {}", duration::relative(exp as i64 - now)),
        _ => "held".into(),
    }
}

/// Where a secret comes from for the next request.
enum Place {
    Environment,
    Store,
    Missing,
    Unknown(String),
}

impl Place {
    fn json(&self) -> &'static str {
        match self {
            Place::Environment => "environment",
            Place::Store => "store",
            Place::Missing => "missing",
            Place::Unknown(_) => "unknown",
        }
    }

    fn text(&self, profile: &Profile, field: &str, store: Option<StoreKind>) -> String {
        match (self, store) {
            (Place::Environment, _) => format!("from {}", env_name(&profile.name, field)),
            (Place::Store, Some(StoreKind::Keyring)) => "in the keyring".into(),
            (Place::Store, _) => "in the file store".into(),
            (Place::Missing, _) => "not stored".into(),
            (Place::Unknown(e), _) => format!("unknown ({e})"),
        }
    }
}

/// Where a secret comes from for the next request, without reading it out.
fn secret_place(profile: &Profile, field: &str, store: &Store) -> Place {
    if env_value(&profile.name, field).is_some() {
        return Place::Environment;
    }
    match store.secret(&profile.name, field) {
        Ok(Some(_)) => Place::Store,
        Ok(None) => Place::Missing,
        Err(e) => Place::Unknown(e.to_string()),
    }
}
