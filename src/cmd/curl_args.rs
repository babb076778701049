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

#[derive(Debug, Default)]
pub struct Scan {
    pub roles: Vec<Role>,
    /// `-L` / `--location` (curl follows redirects).
    pub location: bool,
    /// `--location-trusted` (curl sends credentials to every host it is redirected to).
    pub location_trusted: bool,
    /// The last `-D` / `--dump-header` value.
    pub dump_header: Option<String>,
    /// Every `-H` / `--header` value.
    pub headers: Vec<String>,
    /// A request body (or curl config) read from stdin: it cannot be sent a second time.
    pub body_from_stdin: bool,
}

pub fn scan(args: &[String]) -> Scan {
    let mut scan = Scan::default();
    // The option whose value the next argument is.
    let mut pending: Option<String> = None;
    let mut options_ended = false;
    for arg in args {
        if options_ended {
            scan.roles.push(Role::Url);
            continue;
        }
        // `--` ends the options: every later argument is a URL (curl 8.16 and later).
        if arg == "--" && pending.is_none() {
            options_ended = true;
            scan.roles.push(Role::Option);
            continue;
        }
        if let Some(option) = pending.take() {
            scan.roles.push(if option == "url" { Role::Url } else { Role::Value });
            scan.saw_value(&option, arg);
            continue;
        }
        if let Some(long) = arg.strip_prefix("--").filter(|l| !l.is_empty()) {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            // `--expand-data` is `--data` with variables expanded.
            let name = name.strip_prefix("expand-").unwrap_or(name);
            match name {
                "location" => scan.location = true,
                "location-trusted" => scan.location_trusted = true,
                // `--no-location` turns it off again, as curl reads it.
                "no-location" => scan.location = false,
                _ => {}
            }
            let takes_value = name == "url" || curl_options::LONG.contains(&name);
            match (takes_value, inline) {
                (true, Some(value)) => {
                    scan.roles.push(if name == "url" {
                        Role::InlineUrl(2 + name.len() + 1)
                    } else {
                        Role::Option
                    });
                    scan.saw_value(name, value);
                }
                (true, None) => {
                    scan.roles.push(Role::Option);
                    pending = Some(name.to_string());
                }
                (false, _) => scan.roles.push(Role::Option),
            }
            continue;
        }
        if let Some(bundle) = arg.strip_prefix('-').filter(|b| !b.is_empty() && !arg.starts_with("--")) {
            scan.roles.push(Role::Option);
            for (at, flag) in bundle.char_indices() {
                if curl_options::SHORT.contains(flag) {
                    let rest = &bundle[at + flag.len_utf8()..];
                    let name = short_name(flag);
                    if rest.is_empty() {
                        pending = Some(name.to_string());
                    } else {
                        scan.saw_value(name, rest);
                    }
                    break;
                }
                if flag == 'L' {
                    scan.location = true;
                }
            }
            continue;
        }
        scan.roles.push(Role::Url);
    }
    scan
}

/// The long name of the short options tok looks at.
fn short_name(flag: char) -> &'static str {
    match flag {
        'D' => "dump-header",
        'H' => "header",
        'd' => "data",
        'F' => "form",
        'T' => "upload-file",
        'K' => "config",
        _ => "-",
    }
}

impl Scan {
    fn saw_value(&mut self, option: &str, value: &str) {
        match option {
            "dump-header" => self.dump_header = Some(value.to_string()),
            "header" => self.headers.push(value.to_string()),
            "upload-file" | "config" if value == "-" => self.body_from_stdin = true,
            // `@-` reads stdin; so do `name@-` (urlencode) and `name=@-` / `name=<-` (form).
            "data" | "data-ascii" | "data-binary" | "data-urlencode" | "json" | "form" | "url-query"
                if value.starts_with("@-")
                    || (value.contains("@-") && !value.starts_with('@'))
                    || value.contains("=<-") =>
            {
                self.body_from_stdin = true
            }
            _ => {}
        }
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
        assert!(s.location && !s.location_trusted);
        assert!(s.sets_header("nps-trace-uuid") && !s.sets_header("authorization"));
        assert_eq!(s.dump_header.as_deref(), Some("b"));
        // A value is not a flag: `-o L` is an output file named L, not -L.
        let s = scan(&strings(&["-o", "-L", "-H-L: x", "/p"]));
        assert!(!s.location, "{s:?}");
        assert!(scan(&strings(&["--location-trusted"])).location_trusted);
        assert!(!scan(&strings(&["-L", "--no-location"])).location);
        // Bodies from stdin cannot be sent twice; from files and the command line they can.
        for stdin in [
            &["-d", "@-"][..],
            &["-sd@-"],
            &["--data-binary", "@-"],
            &["--json=@-"],
            &["-F", "f=@-"],
            &["-T", "-"],
            &["--data-urlencode", "q@-"],
            &["-K", "-"],
        ] {
            assert!(scan(&strings(stdin)).body_from_stdin, "{stdin:?}");
        }
        for replayable in [
            &["-d", "@body.json"][..],
            &["-d", "a=1"],
            &["-T", "file"],
            &["-o", "-"],
            &["-D", "-"],
            &["-F", "f=@photo.png"],
        ] {
            assert!(!scan(&strings(replayable)).body_from_stdin, "{replayable:?}");
        }
        let args = strings(&["--url=https://a.example/x", "-d", "/not", "https://b.example/y"]);
        assert_eq!(scan(&args).urls(&args), ["https://a.example/x", "https://b.example/y"]);
    }

    #[test]
    fn the_option_table_is_curls() {
        // Spot checks against `curl --help all`: value-taking, and not.
        for long in
            ["output", "dump-header", "header", "data-binary", "json", "write-out", "url-query", "variable"]
        {
            assert!(curl_options::LONG.contains(&long), "{long}");
        }
        for long in ["location", "silent", "verbose", "include", "insecure", "compressed"] {
            assert!(!curl_options::LONG.contains(&long), "{long}");
        }
        for short in ['o', 'D', 'H', 'd', 'X', 'u', 'w', 'T', 'F', 'e'] {
            assert!(curl_options::SHORT.contains(short), "{short}");
        }
        for short in ['s', 'S', 'L', 'v', 'i', 'k', 'f'] {
            assert!(curl_options::SHORT_FLAGS.contains(short), "{short}");
        }
    }
}
