//! `tok providers [NAME]`: what each provider needs, read from the providers' specs.

use crate::cli::ProvidersArgs;
use crate::error::{Error, Result};
use crate::output::JSON_VERSION;
use crate::profile::{closest, env_name};
use crate::provider::{Need, Provider};
use serde_json::{Map, Value, json};

pub fn providers(args: &ProvidersArgs) -> Result<()> {
    let text = match &args.name {
        None if args.json => {
            let list: Vec<Value> = Provider::all().map(|p| Value::Object(to_json(p))).collect();
            format!("{}\n", json!({ "version": JSON_VERSION, "providers": list }))
        }
        None => list(),
        Some(name) => {
            let provider = Provider::from_name(name).ok_or_else(|| {
                let error = Error::usage("no provider of that name");
                match closest(name, Provider::names()) {
                    Some(near) => error.hint(format!("did you mean '{near}'?")),
                    None => error.hint(format!("providers: {}", Provider::names().join(", "))),
                }
            })?;
            if args.json {
                let mut value = to_json(provider);
                value.insert("version".into(), JSON_VERSION.into());
                format!("{}\n", Value::Object(value))
            } else {
                detail(provider)
            }
        }
    };
    crate::term::stdout(text.as_bytes())
}

fn list() -> String {
    let width = Provider::all().map(|p| p.name().len()).max().unwrap_or(0);
    let mut text: String = Provider::all()
        .map(|p| format!("{:width$}  {}: {}\n", p.name(), p.spec().title, p.spec().summary))
        .collect();
    text.push_str("\n`tok providers NAME` shows what one needs and an example.\n");
    text
}

fn need(need: Need) -> String {
    match need {
        Need::Always => "required".into(),
        Need::Optional => "optional".into(),
        Need::When(field, value) => format!("required when {field} is {value}"),
        Need::Unless(field, value) => format!("required unless {field} is {value}"),
        Need::UnlessAny(field, values) => format!("required unless {field} is {}", values.join(" or ")),
    }
}

/// The variable names use the provider's name as the profile (the usual case). Each
/// column is as wide as its widest cell, so long flags and labels never push the
/// next column out of line.
fn detail(provider: Provider) -> String {
    let spec = provider.spec();
    let mut text =
        format!("{} ({})\n  {}\n\nSettings (flag, variable, need):\n", spec.name, spec.title, spec.summary);
    let settings: Vec<[String; 4]> = spec
        .settings
        .iter()
        .map(|s| {
            let flag = if s.flag.is_empty() && s.field == "mode" { "--api-key" } else { s.flag };
            [flag.to_string(), env_name(spec.name, s.field), need(s.need), s.help.to_string()]
        })
        .collect();
    text.push_str(&table(&settings));
    if spec.secrets.is_empty() {
        text.push_str("\nSecrets: none\n");
    } else {
        text.push_str(
            "\nSecrets (never a flag: --secret-stdin, the variable, the store, or a hidden prompt):\n",
        );
        let secrets: Vec<[String; 3]> = spec
            .secrets
            .iter()
            .map(|s| [s.label.to_string(), env_name(spec.name, s.field), need(s.need)])
            .collect();
        text.push_str(&table(&secrets));
    }
    if !spec.environments.is_empty() {
        text.push_str("\nEnvironments (--env):\n");
        let environments: Vec<[String; 2]> = spec
            .environments
            .iter()
            .map(|e| [e.name.to_string(), format!("{}{}", e.host, if e.default { " (default)" } else { "" })])
            .collect();
        text.push_str(&table(&environments));
    }
    text.push_str(&format!(
        "\ntok curl's relative URLs: {}\n\nExample:\n  {}\n",
        spec.api_host, spec.example
    ));
    let mut kinds: Vec<&str> = Vec::new();
    for v in spec.variants {
        if !kinds.contains(&v.kind) {
            kinds.push(v.kind);
            let heading = match v.kind {
                "grant" => "Grants (--grant)".to_string(),
                "auth" => "Client authentication (--auth)".to_string(),
                other => format!("--{other}"),
            };
            text.push_str(&format!("\n{heading}:\n"));
        }
        text.push_str(&format!("  {}: {}\n    {}\n", v.name, v.summary, v.example));
    }
    text
}

/// Rows as aligned columns, two spaces apart; the last column is never padded.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in rows {
        let mut line = String::from(" ");
        for (i, cell) in row.iter().enumerate() {
            line.push(' ');
            line.push_str(cell);
            if i + 1 < N {
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 1));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// `need` as machine values: `required`, `optional`, `required_when` or
/// `required_unless`, and the setting it depends on (`when`, else null).
fn need_json(need: Need) -> (&'static str, Value) {
    match need {
        Need::Always => ("required", Value::Null),
        Need::Optional => ("optional", Value::Null),
        Need::When(field, value) => ("required_when", json!({ "field": field, "value": value })),
        Need::Unless(field, value) => ("required_unless", json!({ "field": field, "value": value })),
        // One string, as the schema has it: the values separated by `|`.
        Need::UnlessAny(field, values) => {
            ("required_unless", json!({ "field": field, "value": values.join("|") }))
        }
    }
}

/// One provider, as `schemas/providers.json` and `schemas/provider.json` describe it.
fn to_json(provider: Provider) -> Map<String, Value> {
    let spec = provider.spec();
    let value = json!({
        "name": spec.name,
        "title": spec.title,
        "summary": spec.summary,
        "settings": spec.settings.iter().map(|s| {
            let (need, when) = need_json(s.need);
            json!({
                "field": s.field,
                "flag": (!s.flag.is_empty()).then_some(s.flag),
                "variable": env_name(spec.name, s.field),
                "need": need,
                "when": when,
                "help": s.help,
            })
        }).collect::<Vec<_>>(),
        "secrets": spec.secrets.iter().map(|s| {
            let (need, when) = need_json(s.need);
            json!({
                "field": s.field,
                "label": s.label,
                "variable": env_name(spec.name, s.field),
                "need": need,
                "when": when,
            })
        }).collect::<Vec<_>>(),
        "environments": spec.environments.iter().map(|e| json!({ "name": e.name, "host": e.host, "default": e.default })).collect::<Vec<_>>(),
        "api_host": spec.api_host,
        "example": spec.example,
        "variants": spec.variants.iter().map(|v| json!({
            "kind": v.kind, "name": v.name, "summary": v.summary, "example": v.example,
        })).collect::<Vec<_>>(),
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_align_whatever_the_widths() {
        let rows = [
            ["--subject-token-type".to_string(), "TOK_X".to_string(), "last".to_string()],
            ["--a".to_string(), "TOK_LONGER_NAME".to_string(), "end".to_string()],
            ["--é".to_string(), "".to_string(), "".to_string()],
        ];
        let text = table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "  --subject-token-type  TOK_X            last");
        assert_eq!(lines[1], "  --a                   TOK_LONGER_NAME  end");
        assert_eq!(lines[2], "  --é");
    }

    #[test]
    fn the_detail_lists_every_variant_with_its_example() {
        for provider in Provider::all() {
            let text = detail(provider);
            for v in provider.spec().variants {
                assert!(
                    text.contains(&format!("  {}: {}\n    {}\n", v.name, v.summary, v.example)),
                    "{text}"
                );
            }
        }
        let oauth2 = detail(Provider::from_name("oauth2").unwrap());
        assert!(
            oauth2.contains("\nGrants (--grant):\n")
                && oauth2.contains("\nClient authentication (--auth):\n")
        );
    }

    #[test]
    fn every_setting_line_of_every_provider_lines_up() {
        for provider in Provider::all() {
            let text = detail(provider);
            let block = text.split("Settings (flag, variable, need):\n").nth(1).unwrap();
            let lines: Vec<&str> = block.lines().take_while(|l| !l.is_empty()).collect();
            // The variable column starts at the same place on every line.
            let starts: Vec<usize> =
                lines.iter().map(|l| l.find("TOK_").unwrap_or_else(|| panic!("{l}"))).collect();
            assert!(starts.windows(2).all(|w| w[0] == w[1]), "{}:\n{block}", provider.name());
        }
    }
}
