//! `tok man`: one complete man page, made from the command tree and the providers'
//! specs, so it cannot drift from `--help`: every command with its options, the
//! environment, files, exit codes and examples.

use crate::error::Result;
use crate::provider::Provider;

pub fn man() -> Result<()> {
    crate::term::stdout(&page())
}

/// The man page, in roff.
pub fn page() -> Vec<u8> {
    let command = super::completions::full_command();
    let man = clap_mangen::Man::new(command.clone());
    let mut out = Vec::new();
    // The fixed parts come from clap_mangen; they cannot fail on a Vec.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    let mut text = String::from_utf8(out).unwrap_or_default();

    text.push_str(".SH \"GLOBAL OPTIONS\"\n");
    for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
        text.push_str(&option(arg));
    }
    text.push_str(".SH COMMANDS\n");
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        text.push_str(&format!(".SS \"tok {}\"\n", sub.get_name()));
        let about = sub.get_long_about().or(sub.get_about()).map(|a| a.to_string()).unwrap_or_default();
        text.push_str(&format!("{}\n.PP\n", escape(&about)));
        let usage = sub.clone().bin_name(format!("tok {}", sub.get_name())).render_usage().to_string();
        text.push_str(&format!("\\fB{}\\fR\n", escape(usage.trim_start_matches("Usage: "))));
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set() && !crate::cli::is_global(a)) {
            text.push_str(&option(arg));
        }
    }
    text.push_str(&providers());
    text.push_str(ENVIRONMENT);
    text.push_str(FILES);
    text.push_str(EXIT_STATUS);
    text.push_str(EXAMPLES);
    text.push_str(&format!(".SH VERSION\nv{}\n", env!("CARGO_PKG_VERSION")));
    text.into_bytes()
}

fn option(arg: &clap::Arg) -> String {
    let mut head = Vec::new();
    if let Some(short) = arg.get_short() {
        head.push(format!("\\fB\\-{short}\\fR"));
    }
    if let Some(long) = arg.get_long() {
        head.push(format!("\\fB\\-\\-{}\\fR", escape(long)));
    }
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values())
        && !matches!(arg.get_action(), clap::ArgAction::SetTrue | clap::ArgAction::Count);
    let value = arg.get_value_names().map(|v| v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" "));
    let mut line = head.join(", ");
    match (arg.is_positional(), value) {
        (true, Some(v)) => line = format!("\\fI{}\\fR", escape(&v)),
        (true, None) => line = format!("\\fI{}\\fR", escape(arg.get_id().as_str()).to_uppercase()),
        (false, Some(v)) if takes_value => line.push_str(&format!(" \\fI{}\\fR", escape(&v))),
        _ => {}
    }
    let mut help = arg.get_long_help().or(arg.get_help()).map(|h| h.to_string()).unwrap_or_default();
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if !values.is_empty() {
        help.push_str(&format!(" [values: {}]", values.join(", ")));
    }
    if let Some(env) = arg.get_env() {
        help.push_str(&format!(" [env: {}]", env.to_string_lossy()));
    }
    format!(".TP\n{line}\n{}\n", escape(&help))
}

fn providers() -> String {
    let mut text =
        String::from(".SH PROVIDERS\n`tok providers NAME` shows the same, with environment variables.\n");
    for provider in Provider::all() {
        let spec = provider.spec();
        text.push_str(&format!(
            ".SS \"{} ({})\"\n{}\n.PP\n",
            spec.name,
            escape(spec.title),
            escape(spec.summary)
        ));
        let flags: Vec<String> =
            spec.settings.iter().filter(|s| !s.flag.is_empty()).map(|s| s.flag.to_string()).collect();
        text.push_str(&format!("Settings: {}.", escape(&flags.join(", "))));
        let secrets: Vec<&str> = spec.secrets.iter().map(|s| s.label).collect();
        if !secrets.is_empty() {
            text.push_str(&format!(" Secrets: {}.", escape(&secrets.join(", "))));
        }
        text.push_str(&format!("\n.PP\n\\fB{}\\fR\n", escape(spec.example)));
    }
    text
}

/// roff-safe text: backslashes and leading dots or quotes would be read as requests.
fn escape(text: &str) -> String {
    let text = text.replace('\\', "\\\\").replace('-', "\\-");
    text.lines()
        .map(|line| {
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const ENVIRONMENT: &str = r#".SH ENVIRONMENT
.TP
\fBTOK_<PROFILE>_<FIELD>\fR
A setting or secret of a profile (profile upper\-cased, \- and . as _): TOK_NEXTERPAY_USERNAME, TOK_NEXTERPAY_PASSWORD, TOK_N3XT_CLIENT_SECRET, TOK_<PROFILE>_PROVIDER for a profile not named after its provider, ... With every setting and the secret in the environment, tok print works with no login.
.TP
\fBTOK_HOME\fR
One directory for everything (config and file store); default: the platform's config and data directories.
.TP
\fBTOK_STORE\fR
keyring or file: the store of a new login, or an explicit override.
.TP
\fBTOK_TIMEOUT\fR
The deadline for one HTTP exchange (default 30s); a command's network time is at most 3 times that.
.TP
\fBTOK_KEYRING_TIMEOUT\fR
The limit for one keyring call (default 10s).
.TP
\fBHTTPS_PROXY\fR, \fBALL_PROXY\fR, \fBNO_PROXY\fR
The proxy for HTTPS requests to non\-loopback hosts, and the hosts that bypass it. Plain HTTP never goes through a proxy.
.TP
\fBNO_COLOR\fR
No colour on stderr.
"#;

const FILES: &str = r#".SH FILES
.TP
\fBconfig.toml\fR
Non\-secret settings of each profile, in TOK_HOME or the platform's config directory (~/.config/tok on Linux). Mode 0600; refused when another user could have written it.
.TP
\fBstore/<profile>.json\fR
The file store (TOK_STORE=file): secrets and token of one profile, mode 0600 in a 0700 directory, in TOK_HOME or the platform's data directory.
.TP
\fBlocks/<profile>.lock\fR
Per\-profile locks, so concurrent tok processes refresh a token once.
"#;

const EXIT_STATUS: &str = r#".SH "EXIT STATUS"
.TP
0
Success.
.TP
1
Any other error (an unreadable config.toml, or one another user could have written).
.TP
2
Usage error: bad flags or arguments, missing or invalid settings at login (all listed at once), a plain\-HTTP URL to a non\-loopback host.
.TP
3
Not logged in, or credentials missing (tok never waits for input without a terminal).
.TP
4
The provider rejected the credentials or the token; a signature that does not verify.
.TP
5
Network or server failure: unreachable, timeout, 5xx, 429, a redirect, an untrusted certificate, a reply tok cannot understand or larger than 1 MiB.
.TP
6
The secret store is unavailable or failed.
.TP
130
Ctrl\-C ended an interactive login (its callback listener closed; nothing was stored).
.TP
141
stdout was closed before tok wrote all of it (128 + SIGPIPE, as a shell reports for cat or grep). A closed stderr does not change the exit code.
.PP
tok curl exits with curl's own code (which overlaps these; tok's own failures print "tok: error:").
"#;

const EXAMPLES: &str = r#".SH EXAMPLES
.nf
tok login nexterpay \-\-username alice
tok print nexterpay
curl \-H "$(tok print nexterpay \-\-format header)" https://api\-sandbox.nexterpay.io/...
tok curl nexterpay \-X POST /Catalog/GetCountries
tok proxy nexterpay \-\-listen 127.0.0.1:8700
tok status nexterpay
tok inspect \-\-profile n3xt
tok sign \-\-alg HS256 \-\-key\-env SIGNING_KEY \-\-sub alice \-\-ttl 15m
tok providers n3xt
source <(tok completions bash)
.fi
"#;

#[cfg(test)]
mod tests {
    /// `man/tok.1` is what this build makes. Run with `TOK_UPDATE_COMPLETIONS=1 cargo
    /// test man` to rewrite it.
    #[test]
    fn committed_man_page_is_current() {
        let generated = super::page();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man/tok.1");
        if std::env::var_os("TOK_UPDATE_COMPLETIONS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &generated).unwrap();
        }
        assert!(
            std::fs::read(&path).unwrap_or_default() == generated,
            "man/tok.1 is stale: run TOK_UPDATE_COMPLETIONS=1 cargo test man"
        );
        let text = String::from_utf8(generated).unwrap();
        for section in
            ["GLOBAL OPTIONS", "COMMANDS", "PROVIDERS", "ENVIRONMENT", "FILES", "EXIT STATUS", "EXAMPLES"]
        {
            assert!(
                text.contains(&format!(".SH {section}")) || text.contains(&format!(".SH \"{section}\"")),
                "{section}"
            );
        }
        assert!(!text.contains("tok-login(1)"), "no references to pages that do not exist");
    }
}
