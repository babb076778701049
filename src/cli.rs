//! The command line, as clap sees it. `cli.md` fixes the names; nothing outside this
//! module and `app.rs` looks at clap types.

use crate::duration;
use crate::profile;
use crate::provider::Provider;
use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::ArgValueCandidates;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "tok",
    version,
    about = "Gets, keeps and hands out the bearer tokens of payment and REST APIs",
    long_about = "Gets, keeps and hands out the bearer tokens of payment and REST APIs.\n\n\
        `tok login <PROFILE>` asks for what the provider needs, keeps secrets in the OS keyring and \
        fetches a first token; `tok print <PROFILE>` prints a valid token and nothing else, \
        refreshing it only when it is close to expiry.",
    after_help = "Exit codes: 0 ok, 1 other error, 2 usage, 3 not logged in or credentials missing, \
        4 rejected by the provider, 5 network or server failure, 6 secret store unavailable, \
        130 a login ended by Ctrl-C, 141 stdout closed early.",
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub globals: Globals,
}

// The options every command takes, before or after the subcommand's name (`tok -v print
// p` and `tok print p -v`). Declared at the top and again in each subcommand's arguments,
// not with clap's `global = true`: that copies each of them into all fourteen
// subcommands on every run, even the thirteen that do not run (135,000 of the 848,000
// instructions of a cached `tok print`, BENCHMARKS.md); a subcommand's own copy is built
// only when it runs (`defer`). `Cli::from_matches` merges the two levels.
#[derive(Debug, Default, Args)]
pub struct Globals {
    /// Say what tok does, on stderr (secrets are never shown)
    #[arg(short, long, help_heading = "Global options")]
    pub verbose: bool,

    /// Where secrets and tokens are kept: keyring or file [default: the profile's, or keyring]
    #[arg(long, env = "TOK_STORE", hide_env_values = true, value_name = "STORE", value_parser = store_names(), help_heading = "Global options")]
    pub store: Option<String>,

    /// Deadline for one HTTP exchange, e.g. 30s or 1m; a command's network time is at most 3 × it
    #[arg(long, env = "TOK_TIMEOUT", hide_env_values = true, value_name = "DUR", value_parser = duration::parse_timeout, help_heading = "Global options")]
    pub timeout: Option<Duration>,

    /// A Redis the fleet shares tokens through: redis://, rediss:// or unix:// (also TOK_SHARED_CACHE
    /// or the profile's shared_cache). Never a password here: TOK_SHARED_CACHE_PASSWORD
    #[arg(long, value_name = "URL", help_heading = "Global options")]
    pub shared_cache: Option<String>,

    /// Exit 6 when the shared cache fails, instead of going on without it (also
    /// TOK_SHARED_CACHE_REQUIRED=1 or the profile's shared_cache_required = "true")
    #[arg(long, help_heading = "Global options")]
    pub shared_cache_required: bool,
}

#[derive(Debug, Subcommand)]
// Build only the subcommand that runs: on the cached `tok print` path, constructing every
// other subcommand's arguments was most of the command-line parsing cost.
#[command(defer = true)]
pub enum Command {
    /// Store credentials for a profile and fetch a first token
    Login(Box<LoginArgs>),
    /// Print a valid token (refreshed first when close to expiry)
    Print(PrintArgs),
    /// Get a new token now
    Refresh(RefreshArgs),
    /// Forget a profile: its settings, secrets and token
    Logout(LogoutArgs),
    /// List profiles and their tokens (no network)
    Status(StatusArgs),
    /// Sign a JWT with your own key and claims, or a nelnet profile's NPS token
    Sign(Box<SignArgs>),
    /// Decode a JWT: header, claims, and its times as dates and "in 9m"
    Inspect(InspectArgs),
    /// Run curl with the profile's header, passed without touching any command line
    Curl(CurlArgs),
    /// Run a command with fresh tokens of one or more profiles in its environment, or
    /// with a proxy to a profile's API for as long as it runs (--proxy)
    Exec(ExecArgs),
    /// Serve a local gateway that adds a fresh credential to every request to the API
    #[command(
        long_about = "Serve a local gateway that adds a fresh credential to every request to the API.\n\n\
        Prints one line on stdout, the base URL clients use (http://127.0.0.1:PORT/<capability>, where the \
        capability is 192 random bits: without it a request gets 404 and never reaches the API), then serves \
        until SIGINT or SIGTERM; requests under way finish, for up to --timeout. <base URL>/path?q goes to \
        <upstream>/path?q with the profile's header in place of any credential the client sent. A 401 gets one \
        new token and one more try when the request body is at most 1 MiB. One line per request on stderr: \
        method, path (no query), status, milliseconds. The API's answer streams through; --timeout bounds \
        connecting, the wait for the answer and each pause in its body."
    )]
    Proxy(ProxyArgs),
    /// What each provider needs: settings, secrets, environments and an example
    Providers(ProvidersArgs),
    /// Print a shell completion script, or write all of them with --dir
    Completions(CompletionsArgs),
    /// Print the man page (man -l <(tok man), or save it as ~/.local/share/man/man1/tok.1)
    Man(ManArgs),
}

/// Lists the stores in `--help` and completions, but takes any text: a bad `TOK_STORE`
/// is reported by the commands that use a store, not by `tok completions`.
fn store_names() -> ListedValues {
    ListedValues(|| crate::store::StoreKind::ALL.iter().map(|k| k.name()).collect())
}

/// Every provider's environments; each provider checks its own.
fn environment_names() -> ListedValues {
    ListedValues(Provider::environment_names)
}

/// A value parser that shows its values in `--help` and completions, and leaves the
/// checking to the command.
#[derive(Clone)]
pub struct ListedValues(pub fn() -> Vec<&'static str>);

impl clap::builder::TypedValueParser for ListedValues {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new((self.0)().into_iter().map(clap::builder::PossibleValue::new)))
    }
}

/// Profile names complete from the user's own config.
fn profiles() -> ArgValueCandidates {
    ArgValueCandidates::new(crate::cmd::profile_candidates)
}

/// Never repeats the name: a secret typed one place too early lands here.
fn profile_name(s: &str) -> Result<String, String> {
    profile::validate_name(s).map_err(|_| {
        "a profile name has at most 64 lower-case letters, digits, '.', '_' and '-', \
         and starts with a letter or digit"
            .into()
    })
}

/// `--key-env`'s variable: a name, checked here so that a key given in its place is
/// refused without being repeated.
fn variable_name(s: &str) -> Result<String, String> {
    let mut chars = s.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(s.to_string())
    } else {
        Err("give the name of the environment variable that holds the key (letters, digits and _), \
             not the key"
            .into())
    }
}

/// The provider names, listed in `--help` and completions; a typo gets clap's "did you
/// mean".
fn provider() -> impl clap::builder::TypedValueParser<Value = Provider> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Provider::names())
        .map(|name: String| Provider::from_name(&name).expect("a possible value is a provider name"))
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Profile name; also the provider when --provider is not given
    #[arg(value_parser = profile_name, add = ArgValueCandidates::new(crate::cmd::login_candidates))]
    pub profile: String,

    /// The provider this profile talks to
    #[arg(long, value_parser = provider(), value_name = "PROVIDER")]
    pub provider: Option<Provider>,

    /// The provider's environment: sandbox|production (nexterpay), production|alpha|beta|omega
    /// (n3xt), staging|production (netdirector), production|uat (nelnet)
    #[arg(long = "env", value_name = "ENV", value_parser = environment_names())]
    pub environment: Option<String>,

    /// Replace the documented scheme and host (required where none is documented)
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// User name (nexterpay)
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,

    /// E-mail to log in with (merchant-v2)
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,

    /// Merchant id (merchant-v2), sent as the merchant_id header
    #[arg(long, value_name = "ID")]
    pub merchant_id: Option<String>,

    /// Use a persistent API key instead of e-mail and password (merchant-v2); the key is
    /// asked for like any secret, never taken from the command line
    #[arg(long)]
    pub api_key: bool,

    /// OAuth2 client id (n3xt, netdirector, oauth2); the secret is asked for separately
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// N3XT project id, e.g. project-live-84ff27dd-…
    #[arg(long, value_name = "ID")]
    pub project: Option<String>,

    /// OAuth2 token endpoint (oauth2)
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,

    /// How the client authenticates (oauth2): HTTP Basic (RFC 6749 §2.3.1, the default),
    /// fields in the body, none (a public client), client_secret_jwt (an HS256 assertion
    /// made with the secret), private_key_jwt (an assertion signed with --key-file's key),
    /// tls (tls_client_auth, RFC 8705: --client-cert issued by a CA the server trusts) or
    /// self-signed-tls (self_signed_tls_client_auth: a --client-cert registered with it)
    #[arg(long, value_name = "AUTH", value_parser = clap::builder::PossibleValuesParser::new(["basic", "body", "none", "client_secret_jwt", "private_key_jwt", "tls", "self-signed-tls"]))]
    pub auth: Option<String>,

    /// The OAuth2 grant (oauth2; default client_credentials)
    #[arg(long, value_name = "GRANT", value_parser = clap::builder::PossibleValuesParser::new(["client_credentials", "authorization_code", "device_code", "refresh_token", "token_exchange"]))]
    pub grant: Option<String>,

    /// The authorization server's issuer (oauth2): its endpoints are discovered once at login
    /// (OpenID Connect discovery, then RFC 8414)
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,

    /// OAuth2 authorization endpoint, for authorization_code without --issuer (oauth2)
    #[arg(long, value_name = "URL")]
    pub authorize_url: Option<String>,

    /// OAuth2 device authorization endpoint, for device_code without --issuer (oauth2)
    #[arg(long, value_name = "URL")]
    pub device_url: Option<String>,

    /// A fixed loopback redirect URI, http://127.0.0.1:PORT/PATH (oauth2 authorization_code)
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,

    /// Only print the authorization URL; open no browser (oauth2 authorization_code)
    #[arg(long)]
    pub no_browser: bool,

    /// Bound on the whole interactive login (oauth2; default 5m)
    #[arg(long, value_name = "DUR", value_parser = duration::parse)]
    pub login_timeout: Option<Duration>,

    /// Push the authorization request first (RFC 9126; oauth2 authorization_code)
    #[arg(long)]
    pub par: bool,

    /// The profile whose fresh token is the subject token (oauth2 token_exchange)
    #[arg(long, value_name = "PROFILE", value_parser = profile_name)]
    pub subject_profile: Option<String>,

    /// The subject token's type (oauth2 token_exchange; default
    /// urn:ietf:params:oauth:token-type:access_token)
    #[arg(long, value_name = "URN")]
    pub subject_token_type: Option<String>,

    /// The token type to ask for (oauth2 token_exchange)
    #[arg(long, value_name = "URN")]
    pub requested_token_type: Option<String>,

    /// A resource to ask for (RFC 8707; oauth2; repeatable)
    #[arg(long, value_name = "URL")]
    pub resource: Vec<String>,

    /// An extra parameter for the request that starts the grant (oauth2; repeatable); never
    /// a secret
    #[arg(long, value_name = "NAME=VALUE")]
    pub param: Vec<String>,

    /// The private key for private_key_jwt (oauth2), read once into the store; `-` reads stdin
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<String>,

    /// DPoP-bound tokens (RFC 9449; oauth2, any grant): every token request and every
    /// request of tok curl and tok proxy carries a fresh proof signed with the profile's
    /// key (an EC P-256 key made at login, or --dpop-key-file's)
    #[arg(long)]
    pub dpop: bool,

    /// The DPoP key (EC P-256 or Ed25519, PEM or DER; oauth2 --dpop), read once into the
    /// store; `-` reads stdin. Without it, --dpop makes a P-256 key
    #[arg(long, value_name = "FILE")]
    pub dpop_key_file: Option<String>,
    /// The TLS client certificate chain, PEM (oauth2; RFC 8705): its text is kept in the
    /// profile and presented on token requests, by tok curl and tok proxy, so tokens are
    /// bound to it; with any --auth (tls and self-signed-tls need it)
    #[arg(long, value_name = "FILE")]
    pub client_cert: Option<String>,

    /// The private key of --client-cert (oauth2), read once into the store; `-` reads stdin
    #[arg(long, value_name = "FILE")]
    pub client_key_file: Option<String>,

    /// Token request body encoding (oauth2)
    #[arg(long, value_name = "BODY", value_parser = clap::builder::PossibleValuesParser::new(["form", "json"]))]
    pub body: Option<String>,

    /// Space-separated scopes (oauth2; netdirector defaults to "nop2/read nop2/write")
    #[arg(long, value_name = "SCOPES")]
    pub scope: Option<String>,

    /// Audience to request (oauth2; repeatable)
    #[arg(long, value_name = "AUD")]
    pub audience: Vec<String>,

    /// Transaction id whose session token to keep (netdirector-v1)
    #[arg(long, value_name = "UUID")]
    pub transaction: Option<String>,

    /// NPS API Key ID (nelnet; the API key is asked for separately), or the `kid` of the
    /// private_key_jwt key (oauth2)
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,

    /// The API base URL `tok proxy` forwards to (n3xt, netdirector, oauth2, which document
    /// no API host)
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,

    /// Another host `tok curl` may send the credential to, as HOST or HOST:PORT
    /// (repeatable; replaces the saved list, '' clears it)
    #[arg(long, value_name = "HOST")]
    pub allow_host: Vec<String>,

    /// Lifetime of the tokens tok signs (nelnet; default 5m)
    #[arg(long, value_name = "DUR", value_parser = duration::parse_ttl)]
    pub ttl: Option<Duration>,

    /// Read the secret (password, client secret, API key) as one line from stdin
    #[arg(long)]
    pub secret_stdin: bool,

    /// Prove the key with a documented request (nelnet: POST /tokenization/session, which
    /// creates a session that is left unused)
    #[arg(long)]
    pub check: bool,

    #[command(flatten)]
    pub globals: Globals,
}

impl LoginArgs {
    /// The settings given on this command line, by field name.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        // --api-key switches a merchant-v2 profile to key mode; giving the login fields
        // switches it back.
        let mode = if self.api_key {
            Some("api-key".to_string())
        } else if self.email.is_some() || self.merchant_id.is_some() {
            Some("login".to_string())
        } else {
            None
        };
        [
            ("mode", &mode),
            ("email", &self.email),
            ("merchant_id", &self.merchant_id),
            ("env", &self.environment),
            ("base_url", &self.base_url),
            ("username", &self.username),
            ("client_id", &self.client_id),
            ("project", &self.project),
            ("token_url", &self.token_url),
            ("auth", &self.auth),
            ("body", &self.body),
            ("scope", &self.scope),
            ("audience", &joined(&self.audience, " ")),
            ("grant", &self.grant),
            ("issuer", &self.issuer),
            ("authorize_url", &self.authorize_url),
            ("device_url", &self.device_url),
            ("redirect_uri", &self.redirect_uri),
            ("no_browser", &self.no_browser.then(|| "true".to_string())),
            ("login_timeout", &self.login_timeout.map(|t| format!("{}s", t.as_secs()))),
            ("par", &self.par.then(|| "true".to_string())),
            ("dpop", &self.dpop.then(|| "true".to_string())),
            ("subject_profile", &self.subject_profile),
            ("subject_token_type", &self.subject_token_type),
            ("requested_token_type", &self.requested_token_type),
            ("resource", &joined(&self.resource, " ")),
            ("param", &joined(&self.param, "\n")),
            ("key_id", &self.key_id),
            ("transaction", &self.transaction),
            ("upstream", &self.upstream),
            ("allow_host", &(!self.allow_host.is_empty()).then(|| self.allow_host.join(","))),
            ("ttl", &self.ttl.map(|t| format!("{}s", t.as_secs()))),
        ]
        .into_iter()
        .filter_map(|(field, value)| value.clone().map(|v| (field, v)))
        .collect()
    }
}

/// A repeatable flag's values as one setting (`config.toml` keeps strings): resources
/// and audiences space-separated like scopes, parameters one per line.
fn joined(values: &[String], separator: &str) -> Option<String> {
    (!values.is_empty()).then(|| values.join(separator))
}

/// The shells `--format env` writes for, chosen explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// sh, bash, zsh: `export NAME='...'`, for `eval "$(tok print ...)"`
    Posix,
    /// `$env:NAME = '...'`, for `tok print ... | Invoke-Expression`
    Powershell,
    /// `set "NAME=..."`, for `for /f "delims=" %i in ('tok print ...') do %i`
    Cmd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The token and a newline
    Token,
    /// The whole header line, e.g. `Authorization: Bearer <token>`
    Header,
    /// {"token", "header", "expires_at", "expires_in"}
    Json,
    /// `export TOK_<PROFILE>_TOKEN=<token>` for `eval`
    Env,
}

#[derive(Debug, Args)]
pub struct PrintArgs {
    /// The profile whose token to print
    #[arg(value_parser = profile_name, add = profiles())]
    pub profile: String,

    /// Refresh first when the token has less than this left (or 10 % of its lifetime)
    #[arg(long, value_name = "DUR", value_parser = duration::parse, default_value = "30s")]
    pub min_ttl: Duration,

    /// What to print
    #[arg(long, value_enum, default_value_t = Format::Token)]
    pub format: Format,

    /// Variable name for --format env
    #[arg(long, value_name = "NAME")]
    pub var: Option<String>,

    /// In GitHub Actions: append NAME=<value> to $GITHUB_ENV and print only ::add-mask::<token>
    #[arg(long, value_name = "NAME")]
    pub github_env: Option<String>,

    /// The shell --format env writes for: posix (export NAME=...), powershell ($env:NAME = ...)
    /// or cmd (set "NAME=...")
    #[arg(long, value_enum, value_name = "SHELL")]
    pub shell: Option<Shell>,

    /// Print the OpenID Connect ID token kept with the access token (oauth2), fresh by
    /// the same policy
    #[arg(long)]
    pub id_token: bool,

    /// The request a DPoP proof is made for, as 'METHOD URL' (with --format header: prints
    /// the Authorization: DPoP line and a DPoP: line for that one request)
    #[arg(long = "for", value_name = "METHOD URL")]
    pub for_request: Option<String>,

    /// Read the secret as one line from stdin, if one is needed
    #[arg(long)]
    pub secret_stdin: bool,

    #[command(flatten)]
    pub globals: Globals,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// The profile whose token to replace
    #[arg(value_parser = profile_name, add = profiles())]
    pub profile: String,

    /// Read the secret as one line from stdin, if one is needed
    #[arg(long)]
    pub secret_stdin: bool,

    #[command(flatten)]
    pub globals: Globals,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The profile to forget
    #[arg(value_parser = profile_name, required_unless_present = "all", conflicts_with = "all", add = profiles())]
    pub profile: Option<String>,

    /// Forget every profile
    #[arg(long)]
    pub all: bool,

    /// Also delete the fleet's entry in the shared cache (by default only this machine's copy goes)
    #[arg(long)]
    pub shared: bool,

    #[command(flatten)]
    pub globals: Globals,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// A nelnet profile: sign its NPS token (always a fresh one)
    #[arg(value_parser = profile_name, add = profiles())]
    pub profile: Option<String>,

    /// Signing algorithm (any case). Without it the private key decides (RS256, ES256/384, EdDSA);
    /// HS256/384/512 take a shared secret and are used only when given
    #[arg(long, value_name = "ALG", ignore_case = true, value_parser = crate::keys::alg_parser())]
    pub alg: Option<String>,

    /// Read the key from this file
    #[arg(long, value_name = "FILE", conflicts_with_all = ["key_env", "key_stdin"])]
    pub key_file: Option<PathBuf>,

    /// Read the key from this environment variable
    #[arg(long, value_name = "VAR", value_parser = variable_name, conflicts_with = "key_stdin")]
    pub key_env: Option<String>,

    /// Read the key from stdin (one trailing newline is dropped)
    #[arg(long)]
    pub key_stdin: bool,

    /// Subject claim
    #[arg(long, value_name = "S")]
    pub sub: Option<String>,

    /// Issuer claim
    #[arg(long, value_name = "S")]
    pub iss: Option<String>,

    /// Audience claim
    #[arg(long, value_name = "S")]
    pub aud: Option<String>,

    /// Expire this long after now (a bare number is seconds)
    #[arg(long, value_name = "DUR", value_parser = duration::parse_ttl, conflicts_with = "exp")]
    pub ttl: Option<Duration>,

    /// Expire at this time: RFC 3339 or Unix seconds
    #[arg(long, value_name = "TIME")]
    pub exp: Option<String>,

    /// A claim; V is read as JSON when it parses (42, true, ["a"]), else as a string
    #[arg(long = "claim", value_name = "K=V")]
    pub claims: Vec<String>,

    /// Claims from a JSON object in FILE, or on stdin with -
    #[arg(long, value_name = "FILE|-")]
    pub claims_json: Option<String>,

    /// Key id for the header
    #[arg(long, value_name = "KID")]
    pub kid: Option<String>,

    /// Leave out the iat claim
    #[arg(long)]
    pub no_iat: bool,

    /// With a nelnet profile: read the API key as one line from stdin, if one is needed
    #[arg(long)]
    pub secret_stdin: bool,

    #[command(flatten)]
    pub globals: Globals,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The token, or - to read it from stdin (prefer -: arguments are visible to other users)
    pub token: Option<String>,

    /// Inspect the token stored for this profile
    #[arg(long, value_parser = profile_name, value_name = "PROFILE", conflicts_with = "token", add = profiles())]
    pub profile: Option<String>,

    /// With --profile: its OpenID Connect ID token instead of its access token
    #[arg(long, requires = "profile", conflicts_with = "token")]
    pub id_token: bool,

    /// Print JSON: header, payload, times and an expired flag
    #[arg(long)]
    pub json: bool,

    /// Check the signature (exit 4 when it does not match or the token is unsigned)
    #[arg(long)]
    pub verify: bool,

    /// The verification key: a public key (PEM, DER, base64), certificate, JWK or JWK set;
    /// a shared secret only with --alg HS256/384/512
    #[arg(long, value_name = "FILE", requires = "verify", conflicts_with = "key_env")]
    pub key_file: Option<PathBuf>,

    /// The verification key from this environment variable
    #[arg(long, value_name = "VAR", value_parser = variable_name, requires = "verify")]
    pub key_env: Option<String>,

    /// Accept only this algorithm (any case); HMAC tokens verify only with --alg HS*
    #[arg(long, value_name = "ALG", requires = "verify", ignore_case = true, value_parser = crate::keys::alg_parser())]
    pub alg: Option<String>,

    #[command(flatten)]
    pub globals: Globals,
}

#[derive(Debug, Args)]
pub struct CurlArgs {
    /// Refresh first when the token has less than this left (or 10 % of its lifetime)
    #[arg(long, value_name = "DUR", value_parser = duration::parse, default_value = "30s")]
    pub min_ttl: Duration,

    /// Pass a 401 through as it is, instead of refreshing the token and trying once more
    #[arg(long)]
    pub no_retry: bool,

    /// The profile whose header curl gets; tok's own options go before it
    #[arg(value_parser = profile_name, add = profiles())]
    pub profile: String,

    /// Everything after the profile is curl's, unchanged, except that a URL starting with /
    /// is joined to the profile's API base
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "CURL ARGS")]
    pub curl_args: Vec<String>,

    #[command(flatten)]
    pub globals: Globals,
}

/// Options tok itself takes before `curl`'s profile, and whether each takes a value.
const TOK_CURL_OPTIONS: &[(&str, bool)] = &[
    ("-v", false),
    ("--verbose", false),
    ("-h", false),
    ("--help", false),
    ("--store", true),
    ("--timeout", true),
    ("--shared-cache", true),
    ("--shared-cache-required", false),
    ("--min-ttl", true),
    ("--no-retry", false),
];

/// Whether `option` (`--min-ttl`) is one of tok's own options for `tok curl`.
pub fn is_tok_curl_option(option: &str) -> bool {
    TOK_CURL_OPTIONS.iter().any(|(o, _)| *o == option)
}

/// tok's options before `curl`'s profile, and whether each takes a value (completions
/// skip over them).
pub fn tok_curl_options() -> impl Iterator<Item = (&'static str, bool)> {
    TOK_CURL_OPTIONS.iter().copied()
}

/// `tok [OPTIONS] curl [OPTIONS] PROFILE [CURL ARGS...]`: splits off everything after
/// the profile, so that no curl option (`-v`, `-h`, `--min-ttl`...) is ever read as
/// tok's. clap sees the command line up to the profile; the rest goes to curl as it is.
pub fn split_curl_args(args: Vec<std::ffi::OsString>) -> (Vec<std::ffi::OsString>, Option<Vec<String>>) {
    let mut positionals = 0;
    let mut expect_value = false;
    for (i, arg) in args.iter().enumerate().skip(1) {
        if expect_value {
            expect_value = false;
            continue;
        }
        let Some(text) = arg.to_str() else { return (args, None) };
        if text.starts_with('-') && text != "-" {
            let name = text.split_once('=').map_or(text, |(n, _)| n);
            match TOK_CURL_OPTIONS.iter().find(|(o, _)| *o == name) {
                Some((_, takes_value)) => expect_value = *takes_value && !text.contains('='),
                // An option tok does not know: clap will say so.
                None => return (args, None),
            }
            continue;
        }
        positionals += 1;
        match positionals {
            1 if text != "curl" => return (args, None),
            1 => {}
            _ => {
                // The profile: clap parses up to it, curl gets the rest.
                let rest = args[i + 1..].iter().map(|a| a.to_string_lossy().into_owned()).collect();
                let mut head = args;
                head.truncate(i + 1);
                return (head, Some(rest));
            }
        }
    }
    (args, None)
}

#[derive(Debug, Args)]
// With --proxy alone the profiles may be missing: everything after `--` is then the
// command (allow_missing_positional), and the terminator, which no profile name can be,
// keeps a profile followed by an option (`P --var X`) from being taken for the command.
#[command(allow_missing_positional = true)]
pub struct ExecArgs {
    /// The profiles whose tokens the command gets, comma-separated
    #[arg(value_parser = profile_name, value_delimiter = ',', action = clap::ArgAction::Set, num_args = 1, value_terminator = ";", required_unless_present = "proxy", add = profiles(), value_name = "PROFILE[,PROFILE...]")]
    pub profiles: Vec<String>,

    /// Run a `tok proxy` for this profile while the command runs (repeatable); the command
    /// gets its base URL, capability included, in TOK_<PROFILE>_URL and no token
    #[arg(long, value_name = "PROFILE", value_parser = profile_name, add = profiles())]
    pub proxy: Vec<String>,

    /// Refresh first when a token has less than this left (or 10 % of its lifetime)
    #[arg(long, value_name = "DUR", value_parser = duration::parse, default_value = "30s")]
    pub min_ttl: Duration,

    /// With one profile: the variable for the token (and NAME_HEADER for the header line)
    /// instead of TOK_<PROFILE>_TOKEN and TOK_<PROFILE>_HEADER
    #[arg(long, value_name = "NAME")]
    pub var: Option<String>,

    /// The command and its arguments; everything from CMD on is the command's, as with
    /// `aws-vault exec` (put -- before a CMD that starts with -, and with --proxy and no
    /// PROFILE)
    #[arg(trailing_var_arg = true, required = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,

    #[command(flatten)]
    pub globals: Globals,
}

#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// The profile whose credential every request gets
    #[arg(value_parser = profile_name, add = profiles())]
    pub profile: String,

    /// Where to listen: a port (on 127.0.0.1), or a loopback address and port such as
    /// localhost:8700 or [::1]:8700 (port 0 picks a free one)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0", value_parser = crate::proxy::listen_address)]
    pub listen: std::net::SocketAddr,

    /// Allow a --listen address that is not loopback: anyone who can reach it and knows the
    /// URL uses the credential, over plain HTTP
    #[arg(long)]
    pub allow_remote: bool,

    /// The API to forward to [default: the profile's `upstream`, else its provider's API host];
    /// HTTPS, or HTTP to loopback
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,

    /// Refresh first when the token has less than this left (or 10 % of its lifetime)
    #[arg(long, value_name = "DUR", value_parser = duration::parse, default_value = "30s")]
    pub min_ttl: Duration,

    /// Pass a 401 through as it is, instead of refreshing the token and sending the request
    /// once more
    #[arg(long)]
    pub no_retry: bool,

    #[command(flatten)]
    pub globals: Globals,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell whose script to print
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(["bash", "zsh", "fish", "powershell", "elvish"]), required_unless_present = "dir", conflicts_with = "dir")]
    pub shell: Option<String>,

    /// Write every shell's script and the man page into this directory
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    #[command(flatten)]
    pub globals: Globals,
}

#[derive(Debug, Args)]
pub struct ProvidersArgs {
    /// Show this provider in detail
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(Provider::names()))]
    pub name: Option<String>,

    /// Print JSON
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub globals: Globals,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Show this profile in detail: provider, account, hosts, store, where each secret is
    #[arg(value_parser = profile_name, add = profiles())]
    pub profile: Option<String>,

    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub globals: Globals,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    #[command(flatten)]
    pub globals: Globals,
}

/// One of `Globals`' options, as each subcommand repeats them.
pub fn is_global(arg: &clap::Arg) -> bool {
    arg.get_help_heading() == Some("Global options")
}

impl Globals {
    /// The options given after the subcommand's name win over those before it; of those
    /// that can also come from the environment (`--store`, `--timeout`) only what was
    /// typed after the name counts, or `TOK_STORE=keyring tok --store file print p` would
    /// read the keyring.
    fn merge(&mut self, after: Globals, typed_after: impl Fn(&str) -> bool) {
        self.verbose |= after.verbose;
        self.shared_cache_required |= after.shared_cache_required;
        if after.shared_cache.is_some() {
            self.shared_cache = after.shared_cache;
        }
        if typed_after("store") {
            self.store = after.store;
        }
        if typed_after("timeout") {
            self.timeout = after.timeout;
        }
    }
}

impl Cli {
    /// The command line from clap's matches, with the global options merged from both
    /// places they can be given (see `Globals`).
    pub fn from_matches(matches: &mut clap::ArgMatches) -> Result<Cli, clap::Error> {
        use clap::FromArgMatches;
        use clap::parser::ValueSource;
        let typed: Vec<&str> = match matches.subcommand() {
            Some((_, sub)) => ["store", "timeout"]
                .into_iter()
                .filter(|id| sub.value_source(id) == Some(ValueSource::CommandLine))
                .collect(),
            None => Vec::new(),
        };
        let mut cli = Cli::from_arg_matches_mut(matches)?;
        let after = std::mem::take(cli.command.globals_mut());
        cli.globals.merge(after, |id| typed.contains(&id));
        Ok(cli)
    }
}

impl Command {
    fn globals_mut(&mut self) -> &mut Globals {
        match self {
            Command::Login(a) => &mut a.globals,
            Command::Print(a) => &mut a.globals,
            Command::Refresh(a) => &mut a.globals,
            Command::Logout(a) => &mut a.globals,
            Command::Status(a) => &mut a.globals,
            Command::Sign(a) => &mut a.globals,
            Command::Inspect(a) => &mut a.globals,
            Command::Curl(a) => &mut a.globals,
            Command::Exec(a) => &mut a.globals,
            Command::Proxy(a) => &mut a.globals,
            Command::Providers(a) => &mut a.globals,
            Command::Completions(a) => &mut a.globals,
            Command::Man(a) => &mut a.globals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn curl_arguments_after_the_profile_are_curls() {
        let split = |line: &str| {
            let (head, rest) = split_curl_args(line.split(' ').map(Into::into).collect());
            (head.iter().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" "), rest)
        };
        let rest = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(split("tok curl p -v /x"), ("tok curl p".into(), rest(&["-v", "/x"])));
        assert_eq!(
            split("tok -v curl --min-ttl 5m p -h --min-ttl 1"),
            ("tok -v curl --min-ttl 5m p".into(), rest(&["-h", "--min-ttl", "1"]))
        );
        assert_eq!(
            split("tok --store=file curl --timeout 2s p"),
            ("tok --store=file curl --timeout 2s p".into(), rest(&[]))
        );
        assert_eq!(split("tok print p -v"), ("tok print p -v".into(), None));
        assert_eq!(split("tok curl --bogus p"), ("tok curl --bogus p".into(), None));
    }

    #[test]
    fn global_options_count_before_and_after_the_command() {
        let parse = |line: &str| {
            let mut matches = Cli::command().try_get_matches_from(line.split(' ')).unwrap();
            let g = Cli::from_matches(&mut matches).unwrap().globals;
            (g.verbose, g.store, g.timeout.map(|t| t.as_secs()), g.shared_cache, g.shared_cache_required)
        };
        let s = |v: &str| Some(v.to_string());
        let table = [
            ("tok print p", (false, None, None, None, false)),
            ("tok -v print p", (true, None, None, None, false)),
            ("tok print p -v", (true, None, None, None, false)),
            ("tok man --verbose", (true, None, None, None, false)),
            ("tok --store file print p", (false, s("file"), None, None, false)),
            ("tok print p --store file", (false, s("file"), None, None, false)),
            ("tok --store keyring print p --store file", (false, s("file"), None, None, false)),
            ("tok --timeout 5s status --timeout 7s", (false, None, Some(7), None, false)),
            ("tok --timeout 5s status", (false, None, Some(5), None, false)),
            ("tok curl --timeout 5s p", (false, None, Some(5), None, false)),
            (
                "tok --shared-cache redis://a status --shared-cache-required",
                (false, None, None, s("redis://a"), true),
            ),
            (
                "tok --shared-cache redis://a refresh p --shared-cache redis://b",
                (false, None, None, s("redis://b"), false),
            ),
        ];
        for (line, want) in table {
            assert_eq!(parse(line), want, "{line}");
        }
    }

    #[test]
    fn parses_the_documented_forms() {
        let cli = Cli::try_parse_from(["tok", "print", "nexterpay", "--format", "header", "--min-ttl", "5m"])
            .unwrap();
        let Command::Print(args) = cli.command else { panic!("not print") };
        assert_eq!(args.format, Format::Header);
        assert_eq!(args.min_ttl, Duration::from_secs(300));
        assert!(Cli::try_parse_from(["tok", "print", "Bad Name"]).is_err());
        assert!(Cli::try_parse_from(["tok", "login", "x", "--provider", "nope"]).is_err());
        assert!(Cli::try_parse_from(["tok", "print", "x", "--min-ttl", "soon"]).is_err());
    }
}
