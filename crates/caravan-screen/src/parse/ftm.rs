//! OpenSanctions FollowTheMoney JSON lines: one `{"id", "schema", "properties", "datasets",
//! "target"}` object per line. Only `target: true` entities of the party schemata are
//! screening entries; `Sanction`, `Ownership` and other link records are skipped.
//!
//! A last line that is not valid JSON and has no newline means the download was cut, and is
//! reported as truncation rather than as a syntax error.

use std::collections::HashSet;

use serde_json::Value;

use crate::country::country_code;
use crate::error::{ListError, ListErrorCode};
use crate::model::{
    Address, CountryRole, EntryCountry, EntryKind, FuzzyDate, Identifier, ListEntry, ListName,
    NameKind, ScreeningList,
};

const FILE: &str = "entities.ftm.json";

/// Properties holding identifiers, with the scheme Caravan files them under.
const ID_PROPERTIES: &[(&str, &str)] = &[
    ("innCode", "INN"),
    ("ogrnCode", "OGRN"),
    ("imoNumber", "IMO"),
    ("leiCode", "LEI"),
    ("swiftBic", "BIC"),
    ("passportNumber", "PASSPORT"),
    ("idNumber", "NATIONAL_ID"),
    ("taxNumber", "TAX_ID"),
    ("registrationNumber", "REGISTRATION"),
];

/// Parses a FollowTheMoney JSON-lines export under the list id `list_id`.
pub fn parse(bytes: &[u8], list_id: &str, fetched_at: &str) -> Result<ScreeningList, ListError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ListError::new(
            ListErrorCode::WrongFormat,
            FILE,
            None,
            format!("not UTF-8: {e}"),
        )
    })?;
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    let n_lines = text.lines().count();
    for (idx, line) in text.lines().enumerate() {
        let line_no = idx as u64 + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let value: Value = match serde_json::from_str(line) {
            Ok(value) => value,
            Err(e) => {
                let last_without_newline = idx + 1 == n_lines && !text.ends_with('\n');
                let code = if last_without_newline && e.is_eof() {
                    ListErrorCode::Truncated
                } else {
                    ListErrorCode::Json
                };
                return Err(ListError::new(code, FILE, Some(line_no), e.to_string()));
            }
        };
        let Some(object) = value.as_object() else {
            return Err(ListError::new(
                ListErrorCode::Json,
                FILE,
                Some(line_no),
                "a line is not a JSON object",
            ));
        };
        let id = object.get("id").and_then(Value::as_str);
        let schema = object.get("schema").and_then(Value::as_str);
        let (Some(id), Some(schema)) = (id, schema) else {
            return Err(ListError::new(
                ListErrorCode::MissingField,
                FILE,
                Some(line_no),
                "an entity lacks \"id\" or \"schema\"",
            ));
        };
        let kind = match schema {
            "Person" => EntryKind::Person,
            "Company" | "Organization" | "LegalEntity" | "PublicBody" => EntryKind::Organization,
            "Vessel" => EntryKind::Vessel,
            "Airplane" => EntryKind::Aircraft,
            _ => continue,
        };
        if object.get("target").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let properties = object.get("properties").and_then(Value::as_object);
        let strings = |key: &str| -> Vec<String> {
            properties
                .and_then(|p| p.get(key))
                .and_then(Value::as_array)
                .map(|values| {
                    values
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut entry = ListEntry::new(list_id, id, kind);
        for (key, name_kind) in [
            ("name", NameKind::Primary),
            ("alias", NameKind::Alias),
            ("previousName", NameKind::Former),
            ("weakAlias", NameKind::Weak),
        ] {
            for text in strings(key) {
                entry.names.push(ListName {
                    kind: name_kind,
                    text,
                });
            }
        }
        if entry.names.is_empty() {
            return Err(ListError::new(
                ListErrorCode::MissingField,
                FILE,
                Some(line_no),
                format!("entity {id} has no name"),
            ));
        }
        for date in strings("birthDate")
            .iter()
            .chain(strings("incorporationDate").iter())
        {
            if let Some(date) = FuzzyDate::parse_iso(date.get(..10).unwrap_or(date))
                .or_else(|| FuzzyDate::parse_iso(date.get(..7).unwrap_or(date)))
                .or_else(|| FuzzyDate::parse_iso(date.get(..4).unwrap_or(date)))
            {
                entry.birth_dates.push(date);
            }
        }
        for (key, role) in [
            ("nationality", CountryRole::Nationality),
            ("citizenship", CountryRole::Nationality),
            ("jurisdiction", CountryRole::Jurisdiction),
            ("country", CountryRole::Other),
            ("birthCountry", CountryRole::Birth),
        ] {
            for code in strings(key).iter().filter_map(|c| country_code(c)) {
                entry.countries.push(EntryCountry {
                    role,
                    code: code.to_owned(),
                });
            }
        }
        for (key, scheme) in ID_PROPERTIES {
            for value in strings(key) {
                if let Some(id) = Identifier::new(scheme, &value, None) {
                    entry.identifiers.push(id);
                }
            }
        }
        for address in strings("address") {
            entry.addresses.push(Address {
                text: address,
                country: None,
            });
        }
        entry.programs.extend(strings("programId"));
        entry.seal();
        if !seen.insert(entry.entry_id.clone()) {
            return Err(ListError::new(
                ListErrorCode::Duplicate,
                FILE,
                Some(line_no),
                format!("entity {id} appears twice"),
            ));
        }
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err(ListError::new(
            ListErrorCode::Empty,
            FILE,
            None,
            "no target entities",
        ));
    }
    Ok(ScreeningList::from_parsed(
        list_id,
        None,
        fetched_at,
        &[bytes],
        entries,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_targets_and_skips_links() {
        let data = concat!(
            r#"{"id":"NK-1","schema":"Person","target":true,"properties":{"name":["Ivan Petrov"],"alias":["Иван Петров"],"birthDate":["1970-05-01"],"nationality":["ru"],"innCode":["7701 234567"]}}"#,
            "\n",
            r#"{"id":"s-1","schema":"Sanction","properties":{"entity":["NK-1"]}}"#,
            "\n",
            r#"{"id":"NK-2","schema":"Company","target":false,"properties":{"name":["X"]}}"#,
            "\n"
        );
        let list = parse(data.as_bytes(), "os-test", "t").unwrap();
        assert_eq!(list.entries.len(), 1);
        let entry = &list.entries[0];
        assert_eq!(entry.names.len(), 2);
        assert_eq!(entry.birth_dates[0].display(), "1970-05-01");
        assert_eq!(entry.countries[0].code, "RU");
        assert_eq!(entry.identifiers[0].value, "7701234567");
    }

    #[test]
    fn truncation_and_bad_lines() {
        let cut = r#"{"id":"NK-1","schema":"Person","target":true,"properties":{"name":["Iv"#;
        assert_eq!(
            parse(cut.as_bytes(), "l", "t").unwrap_err().code,
            ListErrorCode::Truncated
        );
        let bad = "{\"id\":1}\n[1,2]\n";
        assert!(parse(bad.as_bytes(), "l", "t").is_err());
        assert_eq!(
            parse(b"[1]\n", "l", "t").unwrap_err().code,
            ListErrorCode::Json
        );
        assert_eq!(
            parse(b"\n", "l", "t").unwrap_err().code,
            ListErrorCode::Empty
        );
    }
}
