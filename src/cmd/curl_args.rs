//! Reading a curl command line as curl does, to find its URLs and the few options tok
//! must know about, without changing anything else.
//!
//! curl takes option values as the next argument (`-o FILE`), glued to a short option
//! (`-oFILE`), at the end of a bundle of short flags (`-sSo FILE`, `-sD-`) or after `=`
//! (`--output=FILE`). Getting this wrong turns an output file into a URL, so the table of
//! value-taking options is curl's own (`curl_options`).

use super::curl_options;

/// What one argument is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A URL (a positional argument, or the value after `--url`).
    Url,
    /// `--url=<URL>`: the URL starts at this byte.
    InlineUrl(usize),
    /// An option, possibly with its value glued on.
    Option,
    /// The value of the option before it.
    Value,
}

/// A file curl reads a request body or headers from (`-` is stdin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The option as written (`-d`, `--data-binary`).
    pub option: String,
    pub path: String,
}

#[derive(Debug, Default)]
pub struct Scan {
    pub roles: Vec<Role>,
    /// The first option curl does not have, as written.
    pub unknown: Option<String>,
    /// The first option that makes curl follow redirects (`-L`, `--location`, `--follow`,
    /// `--location-trusted`), anywhere in the command, as written.
    pub follows: Option<String>,
    /// `--location-trusted` (curl sends credentials to every host it is redirected to).
    pub location_trusted: bool,
    /// The last `-D` / `--dump-header` value.
    pub dump_header: Option<String>,
    /// Where each `-D` value is: its argument's index and the byte its value starts at.
    pub dump_header_at: Vec<(usize, usize)>,
    /// Every `-o` / `--output` value.
    pub outputs: Vec<String>,
    /// Every `-H` / `--header` value.
    pub headers: Vec<String>,
    /// How many `--next` (`-:`): each starts another set of requests.
    pub nexts: usize,
    /// `-g` / `--globoff`: `[]` and `{}` in URLs are not globs.
    pub globoff: bool,
    /// `-K` / `--config`, as written: a file of more options and URLs.
    pub config: Option<String>,
    /// Options that pick a proxy or move the connection to another address, as written.
    pub routing: Vec<String>,
    /// Files read for bodies and headers.
    pub inputs: Vec<Input>,
    /// Every `-T` value (a glob may name several files, one request each).
    pub uploads: Vec<String>,
    /// What decides the method curl uses (DPoP's `htm`): the last `-X`, `-I`, `-G`, and
    /// whether a body is sent (`-d`, `--json`, `-F` and their kin).
    pub request: Option<String>,
    pub head: bool,
    pub get: bool,
    pub sends_data: bool,
    /// The last `--retry` value: above 0, curl sends the request again after a transient
    /// error, with the very same headers.
    pub retry: Option<String>,
    /// An HTTP authentication that takes two rounds (`--digest`, `--ntlm`, `--negotiate`,
    /// `--anyauth`), as written: curl sends the request again after the server's 401.
    pub two_rounds: Option<String>,
    /// `--request-target`, as written: curl sends that in place of the URL's path.
    pub request_target: Option<String>,
}

/// What a long option is to curl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Value,
    Boolean,
    Plain,
}

fn kind(name: &str) -> Option<Kind> {
    if curl_options::LONG.contains(&name) {
        Some(Kind::Value)
    } else if curl_options::BOOLEAN.contains(&name) {
        Some(Kind::Boolean)
    } else if curl_options::PLAIN.contains(&name) {
        Some(Kind::Plain)
    } else {
        None
    }
}

/// Options whose value is a proxy, or another address to connect to for a URL's host.
const ROUTING: &[&str] = &[
    "proxy",
    "preproxy",
    "proxy1.0",
    "socks4",
    "socks4a",
    "socks5",
    "socks5-hostname",
    "noproxy",
    "connect-to",
    "resolve",
    "unix-socket",
    "abstract-unix-socket",
];

pub fn scan(args: &[String]) -> Scan {
    let mut scan = Scan::default();
    // The option whose value the next argument is: its long name and how it was written.
    let mut pending: Option<(String, String)> = None;
    let mut options_ended = false;
    for (index, arg) in args.iter().enumerate() {
        // Where a value starts in `arg` (`-D` values are rewritten there).
        let value_at = |value: &str| (index, arg.len() - value.len());
        if options_ended {
            scan.roles.push(Role::Url);
            continue;
        }
        if let Some((option, written)) = pending.take() {
            scan.roles.push(if option == "url" { Role::Url } else { Role::Value });
            scan.saw_value(&option, &written, arg, value_at(arg));
            continue;
        }
        // `--` ends the options: every later argument is a URL (curl 8.16 and later).
        if arg == "--" {
            options_ended = true;
            scan.roles.push(Role::Option);
            continue;
        }
        if let Some(long) = arg.strip_prefix("--") {
            scan.roles.push(Role::Option);
            let (written, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            // As curl reads it: `--no-NAME` turns a boolean off; `--expand-NAME` is NAME
            // with variables expanded in its value.
            let (name, on, expand) = match (written.strip_prefix("no-"), written.strip_prefix("expand-")) {
                (Some(name), _) => (name, false, false),
                (None, Some(name)) => (name, true, true),
                (None, None) => (written, true, false),
            };
            let known = match kind(name) {
                Some(Kind::Boolean) => !expand,
                Some(Kind::Plain) => on && !expand,
                Some(Kind::Value) => on,
                None => false,
            };
            if !known {
                scan.unknown.get_or_insert_with(|| format!("--{written}"));
                continue;
            }
            if kind(name) == Some(Kind::Value) {
                match inline {
                    Some(value) => {
                        if name == "url" {
                            *scan.roles.last_mut().expect("pushed above") =
                                Role::InlineUrl(arg.len() - value.len());
                        }
                        scan.saw_value(name, &format!("--{written}"), value, value_at(value));
                    }
                    None => pending = Some((name.to_string(), format!("--{written}"))),
                }
            } else {
                scan.saw_flag(name, &format!("--{written}"), on);
            }
            continue;
        }
        if let Some(bundle) = arg.strip_prefix('-').filter(|b| !b.is_empty()) {
            scan.roles.push(Role::Option);
            for (at, flag) in bundle.char_indices() {
                let Some(&(_, name)) = curl_options::SHORT.iter().find(|(c, _)| *c == flag) else {
                    scan.unknown.get_or_insert_with(|| format!("-{flag}"));
                    break;
                };
                if kind(name) == Some(Kind::Value) {
                    let rest = &bundle[at + flag.len_utf8()..];
                    if rest.is_empty() {
                        pending = Some((name.to_string(), format!("-{flag}")));
                    } else {
                        scan.saw_value(name, &format!("-{flag}"), rest, value_at(rest));
                    }
                    break;
                }
                scan.saw_flag(name, &format!("-{flag}"), true);
            }
            continue;
        }
        scan.roles.push(Role::Url);
    }
    scan
}

impl Scan {
    fn saw_flag(&mut self, name: &str, written: &str, on: bool) {
        match name {
            "location" | "follow" | "location-trusted" if on => {
                self.follows.get_or_insert_with(|| written.to_string());
                self.location_trusted |= name == "location-trusted";
            }
            "next" => self.nexts += 1,
            "globoff" => self.globoff = on,
            "head" => self.head = on,
            "get" => self.get = on,
            "anyauth" | "digest" | "ntlm" | "ntlm-wb" | "negotiate" => {
                if on {
                    self.two_rounds = Some(written.to_string());
                } else if self.two_rounds.as_deref() == Some(&format!("--{name}")) {
                    self.two_rounds = None;
                }
            }
            _ => {}
        }
    }

    fn saw_value(&mut self, option: &str, written: &str, value: &str, at: (usize, usize)) {
        let mut input = |path: &str| {
            self.inputs.push(Input { option: written.to_string(), path: path.to_string() });
        };
        if matches!(
            option,
            "data"
                | "data-ascii"
                | "data-binary"
                | "data-raw"
                | "data-urlencode"
                | "json"
                | "form"
                | "form-string"
        ) {
            self.sends_data = true;
        }
        match option {
            "request" => self.request = Some(value.to_string()),
            "retry" => self.retry = Some(value.to_string()),
            "request-target" => self.request_target = Some(written.to_string()),
            "dump-header" => {
                self.dump_header = Some(value.to_string());
                self.dump_header_at.push(at);
            }
            "output" => self.outputs.push(value.to_string()),
            "header" | "proxy-header" => {
                if let Some(path) = value.strip_prefix('@') {
                    input(path);
                }
                if option == "header" {
                    self.headers.push(value.to_string());
                }
            }
            "data" | "data-ascii" | "data-binary" | "json" => {
                if let Some(path) = value.strip_prefix('@') {
                    input(path);
                }
            }
            // `@file`, `name@file`, `=content`, `name=content`: the first of `@` and `=`
            // decides; `--url-query` may start with `+` (no encoding).
            "data-urlencode" | "url-query" | "variable" => {
                let value =
                    if option == "url-query" { value.strip_prefix('+').unwrap_or(value) } else { value };
                if let Some(at) = value.find(['@', '=']).filter(|&at| value.as_bytes()[at] == b'@') {
                    input(&value[at + 1..]);
                }
            }
            // `name=@file`, `name=<file`, `name=@a,b` (several files), `;headers=@file`.
            // A quoted name with a `;` in it splits into pieces that are no files: no retry.
            "form" => {
                for (i, part) in value.split(';').enumerate() {
                    let content = match part.split_once('=') {
                        Some((_, content)) if i == 0 => content,
                        Some(("headers", content)) => content,
                        _ => continue,
                    };
                    if let Some(files) = content.strip_prefix(['@', '<']) {
                        for path in files.split(',') {
                            input(path.trim_matches('"'));
                        }
                    }
                }
            }
            "upload-file" => {
                self.uploads.push(value.to_string());
                input(value);
            }
            // A value without `=` is a cookie file.
            "cookie" if !value.contains('=') && !value.is_empty() => input(value),
            "config" => {
                self.config.get_or_insert_with(|| written.to_string());
            }
            _ if ROUTING.contains(&option) => self.routing.push(written.to_string()),
            _ => {}
        }
    }

    /// Why curl may send the one request again, unchanged (headers and all), if it may:
    /// `--retry` above 0, or an authentication of two rounds.
    pub fn resends(&self) -> Option<String> {
        if let Some(n) = self.retry.as_deref().filter(|n| n.trim() != "0") {
            return Some(format!("--retry {}", crate::term::printable(n)));
        }
        self.two_rounds.clone()
    }

    /// The URLs, as given.
    pub fn urls<'a>(&self, args: &'a [String]) -> Vec<&'a str> {
        args.iter()
            .zip(&self.roles)
            .filter_map(|(arg, role)| match role {
                Role::Url if arg != "-" => Some(arg.as_str()),
                Role::InlineUrl(at) => Some(&arg[*at..]),
                _ => None,
            })
            .collect()
    }

    /// Whether a `-H` sets the header `name` (any case).
    pub fn sets_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|h| h.split_once(':').is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name)))
    }

    /// Why sending this command a second time would not repeat one request exactly, if
    /// it would not. `is_regular` says whether a path names a regular file: what curl
    /// reads from anything else (stdin, a pipe, a directory) is gone after one reading.
    /// `overwrites` says whether a second answer written to a path replaces the first (a
    /// regular file curl truncates, one not there yet): a pipe or a terminal would get both.
    pub fn why_not_replayable(
        &self,
        urls: &[&str],
        is_regular: impl Fn(&str) -> bool,
        overwrites: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let globbed = |text: &str| text.contains(['[', '{']);
        if urls.len() != 1 || self.nexts > 0 {
            return Some(format!(
                "it makes more than one request ({} URLs{}): tok repeats one request, never requests that may have succeeded",
                urls.len(),
                if self.nexts > 0 { ", --next" } else { "" }
            ));
        }
        // The authority is checked apart (no brackets but an IPv6 literal's).
        let after_authority = urls[0]
            .split_once("://")
            .map_or(urls[0], |(_, rest)| rest.find(['/', '?', '#']).map_or("", |at| &rest[at..]));
        if !self.globoff && globbed(after_authority) {
            return Some(
                "its URL has [] or {}, a glob of several requests to curl (-g turns globbing off)".into(),
            );
        }
        if self.uploads.len() > 1 || self.uploads.iter().any(|u| globbed(u)) {
            return Some("it uploads several files (-T), one request each".into());
        }
        let input = self.inputs.iter().find(|i| i.path == "-" || !is_regular(&i.path)).map(|i| {
            if i.path == "-" {
                format!("{} reads stdin, which curl can read only once", i.option)
            } else {
                format!(
                    "{} reads {}, which is not a regular file and may not give the same bytes twice",
                    i.option, i.path
                )
            }
        });
        // stdout (`-`) is held back and the first answer dropped; other targets are curl's.
        input.or_else(|| {
            self.outputs.iter().find(|o| *o != "-" && !overwrites(o)).map(|o| {
                format!("-o writes to {o}, which is not a regular file: the 401's body would reach it too")
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn roles_table() {
        use Role::*;
        let table: [(&[&str], &[Role]); 13] = [
            (&["-X", "POST", "-sSo", "out.json", "/p"], &[Option, Value, Option, Value, Url]),
            (&["-sD", "-", "/p"], &[Option, Value, Url]),
            (&["-sD-", "/p"], &[Option, Url]),
            (&["-oout.json", "/p"], &[Option, Url]),
            (&["--output=out.json", "/p"], &[Option, Url]),
            (&["--output", "out.json", "/p"], &[Option, Value, Url]),
            (&["--url", "/u", "--url=/v"], &[Option, Url, InlineUrl(6)]),
            (&["-v", "-i", "-k", "/p"], &[Option, Option, Option, Url]),
            (&["--compressed", "--retry", "3", "/p"], &[Option, Option, Value, Url]),
            (&["-u", "user:pw", "-e", "/ref", "/p"], &[Option, Value, Option, Value, Url]),
            (
                &["--connect-to", "a:1:b:2", "--resolve", "x:1:127.0.0.1", "/p"],
                &[Option, Value, Option, Value, Url],
            ),
            (&["-d", "@-", "-"], &[Option, Value, Url]),
            (&["--expand-data", "{{x}}", "--", "-not-an-option"], &[Option, Value, Option, Url]),
        ];
        for (args, roles) in table {
            assert_eq!(scan(&strings(args)).roles, roles, "{args:?}");
        }
    }

    #[test]
    fn facts_table() {
        let s = scan(&strings(&["-sSL", "-H", "NPS-Trace-UUID: 1", "-D", "a", "--dump-header=b", "/p"]));
        assert!(s.follows.as_deref() == Some("-L") && !s.location_trusted && s.unknown.is_none());
        assert!(s.sets_header("nps-trace-uuid") && !s.sets_header("authorization"));
        assert_eq!(s.dump_header.as_deref(), Some("b"));
        let s = scan(&strings(&["-D", "a", "--dump-header=b", "-sDc", "-Dd", "-o", "e", "/p"]));
        assert_eq!(s.dump_header_at, [(1, 0), (2, 14), (3, 3), (4, 2)]);
        assert_eq!(s.outputs, ["e"]);
        // A value is not a flag: `-o L` is an output file named L, not -L.
        let s = scan(&strings(&["-o", "-L", "-H-L: x", "/p"]));
        assert!(s.follows.is_none(), "{s:?}");
        assert!(scan(&strings(&["--location-trusted"])).location_trusted);
        assert!(scan(&strings(&["--no-location", "/p"])).follows.is_none());
        // Any redirect-following option anywhere counts, whatever follows it.
        for follows in [
            &["-L", "--no-location", "/p"][..],
            &["/p", "--next", "--no-location", "-L", "/q"],
            &["/p", "-:", "-sL", "/q"],
            &["--follow", "/p"],
            &["--location=x", "/p"],
            &["-vL", "/p"],
        ] {
            assert!(scan(&strings(follows)).follows.is_some(), "{follows:?}");
        }
        let args = strings(&["--url=https://a.example/x", "-d", "/not", "https://b.example/y"]);
        assert_eq!(scan(&args).urls(&args), ["https://a.example/x", "https://b.example/y"]);
        let s =
            scan(&strings(&["-K", "c", "-x", "p:1", "--socks5=h:1", "--resolve", "a:1:b", "--noproxy", "*"]));
        assert_eq!(s.config.as_deref(), Some("-K"));
        assert_eq!(s.routing, ["-x", "--socks5", "--resolve", "--noproxy"]);
    }

    #[test]
    fn unknown_options_are_named_as_written() {
        let unknown = |args: &[&str]| scan(&strings(args)).unknown;
        assert_eq!(unknown(&["--min-ttl", "5m", "/x"]).as_deref(), Some("--min-ttl"));
        assert_eq!(unknown(&["--min-ttl=5m", "/x"]).as_deref(), Some("--min-ttl"));
        assert_eq!(unknown(&["-sW", "/x"]).as_deref(), Some("-W"));
        assert_eq!(
            unknown(&["--no-output", "x"]).as_deref(),
            Some("--no-output"),
            "--no- takes booleans only"
        );
        assert_eq!(unknown(&["--no-next"]).as_deref(), Some("--no-next"), "nor plain flags");
        assert_eq!(unknown(&["--expand-silent"]).as_deref(), Some("--expand-silent"));
        assert_eq!(unknown(&["--Verbose"]).as_deref(), Some("--Verbose"), "names are exact");
        assert_eq!(unknown(&["--verb"]).as_deref(), Some("--verb"), "no prefixes since curl 8");
        for fine in [
            &["--no-progress-meter", "--no-buffer", "-N", "--expand-data", "x", "/p"][..],
            &["--http1.1", "--tlsv1.2", "-#", "-:", "--next", "-0", "/p"],
            &["--", "--min-ttl"],
            &["-d", "--min-ttl", "/p"],
        ] {
            assert_eq!(unknown(fine), None, "{fine:?}");
        }
    }

    #[test]
    fn replayable_table() {
        // Paths named "regular" are regular files here; every other path is not.
        let why = |args: &[&str]| {
            let args = strings(args);
            let s = scan(&args);
            s.why_not_replayable(&s.urls(&args), |p| p.starts_with("regular"), |p| p.starts_with("regular"))
        };
        for once in [
            &["-d", "a=1", "https://a.example/p"][..],
            &["-d", "@regular.json", "https://a.example/p"],
            &["--data-binary=@regular", "https://a.example/p"],
            &["--data-urlencode", "q=a@b", "https://a.example/p"],
            &["--data-urlencode", "name@regular", "https://a.example/p"],
            &["-F", "f=@regular.png;type=image/png", "-F", "e=a@b.example", "https://a.example/p"],
            &["-T", "regular", "https://a.example/p"],
            &["-H", "@regular", "-H", "X: a@b", "https://a.example/p"],
            &["-b", "k=v", "-o", "-", "-D", "-", "https://a.example/p"],
            &["-g", "https://a.example/p?filter[uuid]=1"],
            &["-o", "regular.json", "--output=-", "-sSoregular", "https://a.example/p"],
            &["https://[::1]:8443/p"],
        ] {
            assert_eq!(why(once), None, "{once:?}");
        }
        let table: &[(&[&str], &str)] = &[
            (&["https://a.example/p", "https://a.example/q"], "more than one request"),
            (&["--url", "https://a.example/p", "--url=https://a.example/q"], "more than one request"),
            (&["-X", "POST", "https://a.example/p", "--next", "-X", "GET"], "--next"),
            (&["https://a.example/p/[1-2]"], "glob"),
            (&["https://a.example/{a,b}"], "glob"),
            (&["-T", "{regular,regular2}", "https://a.example/p"], "several files"),
            (&["-T", "regular", "-T", "regular", "https://a.example/p"], "several files"),
            (&["-d", "@-", "https://a.example/p"], "-d reads stdin"),
            (&["-sd@-", "https://a.example/p"], "-d reads stdin"),
            (
                &["--data-binary", "@/dev/stdin", "https://a.example/p"],
                "/dev/stdin, which is not a regular file",
            ),
            (&["-d", "@/dev/fd/63", "https://a.example/p"], "not a regular file"),
            (&["--json", "@-", "https://a.example/p"], "--json reads stdin"),
            (&["--json=@-", "https://a.example/p"], "--json reads stdin"),
            (&["-T", "/dev/stdin", "https://a.example/p"], "not a regular file"),
            (&["-T", ".", "https://a.example/p"], "not a regular file"),
            (&["-T", "-", "https://a.example/p"], "-T reads stdin"),
            (&["-H", "@-", "https://a.example/p"], "-H reads stdin"),
            (&["-H", "@/dev/fd/3", "https://a.example/p"], "not a regular file"),
            (&["--proxy-header", "@-", "https://a.example/p"], "reads stdin"),
            (&["-F", "f=@/dev/stdin", "https://a.example/p"], "not a regular file"),
            (&["-F", "f=<-", "https://a.example/p"], "-F reads stdin"),
            (&["-F", "f=@regular,/dev/stdin", "https://a.example/p"], "not a regular file"),
            (&["-F", "f=x;headers=@-", "https://a.example/p"], "-F reads stdin"),
            (&["--data-urlencode", "name@file", "https://a.example/p"], "file, which is not a regular file"),
            (&["--data-urlencode", "q@-", "https://a.example/p"], "reads stdin"),
            (&["--url-query", "+@-", "https://a.example/p"], "reads stdin"),
            (&["--variable", "v@-", "--expand-data", "{{v}}", "https://a.example/p"], "reads stdin"),
            (&["-b", "-", "https://a.example/p"], "-b reads stdin"),
            (&["-o", "/dev/stdout", "https://a.example/p"], "-o writes to /dev/stdout"),
            (&["-sSo/dev/fd/3", "https://a.example/p"], "-o writes to /dev/fd/3, which is not a regular"),
            (&["--output=fifo", "https://a.example/p"], "-o writes to fifo"),
        ];
        for (args, word) in table {
            let why = why(args).unwrap_or_else(|| panic!("{args:?} is not replayable"));
            assert!(why.contains(word), "{args:?}: {why}");
        }
    }

    #[test]
    fn the_option_table_is_curls() {
        // Spot checks against `curl --help all`: value-taking, and not.
        for long in
            ["output", "dump-header", "header", "data-binary", "json", "write-out", "url-query", "variable"]
        {
            assert!(curl_options::LONG.contains(&long), "{long}");
        }
        for long in ["location", "silent", "verbose", "include", "insecure", "compressed", "follow"] {
            assert!(!curl_options::LONG.contains(&long) && curl_options::BOOLEAN.contains(&long), "{long}");
        }
        for long in ["next", "http2", "tlsv1.3"] {
            assert!(curl_options::PLAIN.contains(&long), "{long}");
        }
        let value = |c: char| curl_options::SHORT.iter().find(|(s, _)| *s == c).map(|(_, l)| kind(l));
        for short in ['o', 'D', 'H', 'd', 'X', 'u', 'w', 'T', 'F', 'e', 'K', 'x', 'b'] {
            assert_eq!(value(short), Some(Some(Kind::Value)), "{short}");
        }
        for short in ['s', 'S', 'L', 'v', 'i', 'k', 'f', 'g', ':', 'q', '#'] {
            assert!(matches!(value(short), Some(Some(Kind::Boolean | Kind::Plain))), "{short}");
        }
        assert_eq!(value('W'), None);
    }
}
