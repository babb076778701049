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
                let error = Error::usage(format!("no provider named '{name}'"));
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

/// The variable names use the provider's name as the profile (the usual case).
fn detail(provider: Provider) -> String {
    let spec = provider.spec();
    let mut text =
        format!("{} ({})\n  {}\n\nSettings (flag, variable, need):\n", spec.name, spec.title, spec.summary);
    for s in spec.settings {
        let flag = if s.flag.is_empty() && s.field == "mode" { "--api-key" } else { s.flag };
        text.push_str(&format!(
            "  {:<15} {:<28} {:<32} {}\n",
            flag,
            env_name(spec.name, s.field),
            need(s.need),
            s.help
        ));
    }
    if spec.secrets.is_empty() {
        text.push_str("\nSecrets: none\n");
    } else {
        text.push_str(
            "\nSecrets (never a flag: --secret-stdin, the variable, the store, or a hidden prompt):\n",
        );
        for s in spec.secrets {
            text.push_str(&format!(
                "  {:<15} {:<28} {}\n",
                s.label,
                env_name(spec.name, s.field),
                need(s.need)
            ));
        }
    }
    if !spec.environments.is_empty() {
        text.push_str("\nEnvironments (--env):\n");
        for e in spec.environments {
            let default = if e.default { " (default)" } else { "" };
            text.push_str(&format!("  {:<15} {}{default}\n", e.name, e.host));
        }
    }
    text.push_str(&format!(
        "\ntok curl's relative URLs: {}\n\nExample:\n  {}\n",
        spec.api_host, spec.example
    ));
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
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
