//! A profile's table as `Settings`: strings, and TOML booleans for the settings that are
//! yes-or-no (`shared_cache_required = true`, as the CLI contract writes it).
//!
//! A boolean elsewhere stays an error, as it was: no other setting's loading changes.
//! Both the fast path (one table) and the full parse go through here.

use super::Settings;
use serde::Deserialize;
use serde::de::{Deserializer, Error, MapAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;

/// Settings whose value may be a TOML boolean; it is kept as `"true"` / `"false"`.
pub const BOOLEAN: [&str; 1] = ["shared_cache_required"];

#[derive(Deserialize)]
#[serde(untagged)]
enum Value {
    Text(String),
    Flag(bool),
}

/// A profile's table; `deserialize_with` for `ConfigFile::profiles` and `load_one`.
pub struct Table(pub Settings);

impl<'de> Deserialize<'de> for Table {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Table, D::Error> {
        d.deserialize_map(TableVisitor).map(Table)
    }
}

struct TableVisitor;

impl<'de> Visitor<'de> for TableVisitor {
    type Value = Settings;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a table of settings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Settings, A::Error> {
        let mut settings = Settings::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = match map.next_value::<Value>() {
                Ok(Value::Text(text)) => text,
                Ok(Value::Flag(flag)) if BOOLEAN.contains(&key.as_str()) => flag.to_string(),
                _ if BOOLEAN.contains(&key.as_str()) => {
                    return Err(A::Error::custom(format!("{key} must be true or false")));
                }
                _ => return Err(A::Error::custom(format!("{key} must be a string"))),
            };
            if settings.insert(key.clone(), value).is_some() {
                return Err(A::Error::custom(format!("duplicate key {key}")));
            }
        }
        Ok(settings)
    }
}

pub fn profiles<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Settings>, D::Error> {
    let tables = BTreeMap::<String, Table>::deserialize(d)?;
    Ok(tables.into_iter().map(|(name, Table(settings))| (name, settings)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_only_where_a_setting_is_yes_or_no() {
        let table: &[(&str, Result<&str, &str>)] = &[
            ("shared_cache_required = true", Ok("true")),
            ("shared_cache_required = false", Ok("false")),
            ("shared_cache_required = \"true\"", Ok("true")),
            ("shared_cache_required = \"no\"", Ok("no")),
            ("shared_cache_required = 1", Err("must be true or false")),
            ("client_id = true", Err("must be a string")),
            ("client_id = 3", Err("must be a string")),
        ];
        for (text, want) in table {
            let got = toml::from_str::<Table>(text).map(|Table(s)| s.into_values().next().unwrap());
            match (got, want) {
                (Ok(v), Ok(w)) => assert_eq!(v, *w, "{text}"),
                (Err(e), Err(w)) => assert!(e.message().contains(w), "{text}: {e}"),
                (got, _) => panic!("{text}: {got:?}"),
            }
        }
    }
}
