//! The Caravan lookout CSV: an administration's own list, one row per name, rows sharing
//! `entry_id` forming one entry (spec §1). Strict on purpose: an unknown column or a bad
//! date is an error, because a lookout list is typed by hand and a silent skip would let a
//! listed party through.

use std::collections::HashMap;

use crate::country::country_code;
use crate::error::{ListError, ListErrorCode};
use crate::model::{
    Address, CountryRole, EntryCountry, EntryKind, FuzzyDate, Identifier, ListEntry, ListName,
    NameKind, ScreeningList,
};
use crate::parse::refuse_markup;

const FILE: &str = "lookout.csv";
const COLUMNS: &[&str] = &[
    "list_id",
    "entry_id",
    "name",
    "entry_kind",
    "name_kind",
    "date_of_birth",
    "country",
    "id_scheme",
    "id_value",
    "id_country",
    "address",
    "program",
    "listed_on",
    "valid_until",
    "remarks",
];

/// Parses a lookout CSV; every row must carry the same `list_id`.
pub fn parse(bytes: &[u8], fetched_at: &str) -> Result<ScreeningList, ListError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ListError::new(
            ListErrorCode::WrongFormat,
            FILE,
            None,
            format!("not UTF-8: {e}"),
        )
    })?;
    refuse_markup(FILE, text, "Caravan lookout CSV")?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ListError::new(ListErrorCode::Csv, FILE, Some(1), e.to_string()))?
        .clone();
    let mut column: HashMap<&str, usize> = HashMap::new();
    for (idx, header) in headers.iter().enumerate() {
        let Some(known) = COLUMNS.iter().find(|c| **c == header.trim()) else {
            return Err(ListError::new(
                ListErrorCode::UnknownColumn,
                FILE,
                Some(1),
                format!("column {header:?} is not a lookout CSV column"),
            ));
        };
        if column.insert(known, idx).is_some() {
            return Err(ListError::new(
                ListErrorCode::Duplicate,
                FILE,
                Some(1),
                format!("column {header:?} appears twice"),
            ));
        }
    }
    for required in ["list_id", "entry_id", "name"] {
        if !column.contains_key(required) {
            return Err(ListError::new(
                ListErrorCode::MissingField,
                FILE,
                Some(1),
                format!("the required column {required:?} is missing"),
            ));
        }
    }
    let mut list_id: Option<String> = None;
    let mut entries: Vec<ListEntry> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            ListError::new(
                ListErrorCode::Csv,
                FILE,
                e.position().map(|p| p.line()),
                e.to_string(),
            )
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let get = |name: &str| -> &str {
            column
                .get(name)
                .and_then(|&i| record.get(i))
                .map_or("", str::trim)
        };
        let bad =
            |message: String| ListError::new(ListErrorCode::BadValue, FILE, Some(line), message);
        for required in ["list_id", "entry_id", "name"] {
            if get(required).is_empty() {
                return Err(ListError::new(
                    ListErrorCode::MissingField,
                    FILE,
                    Some(line),
                    format!("{required} is empty"),
                ));
            }
        }
        match &list_id {
            None => list_id = Some(get("list_id").to_owned()),
            Some(id) if id != get("list_id") => {
                return Err(bad(format!(
                    "list_id {:?} differs from the file's {id:?}",
                    get("list_id")
                )));
            }
            Some(_) => {}
        }
        let kind = match get("entry_kind") {
            "" => EntryKind::Unknown,
            text => EntryKind::parse(text).ok_or_else(|| bad(format!("entry_kind {text:?}")))?,
        };
        let name_kind = match get("name_kind") {
            "" => NameKind::Primary,
            text => NameKind::parse(text).ok_or_else(|| bad(format!("name_kind {text:?}")))?,
        };
        let entry_id = get("entry_id").to_owned();
        let idx = match by_id.get(&entry_id) {
            Some(&idx) => {
                if !get("entry_kind").is_empty() && entries[idx].kind != kind {
                    return Err(ListError::new(
                        ListErrorCode::Duplicate,
                        FILE,
                        Some(line),
                        format!("rows of entry {entry_id} disagree on entry_kind"),
                    ));
                }
                idx
            }
            None => {
                by_id.insert(entry_id.clone(), entries.len());
                entries.push(ListEntry::new(get("list_id"), &entry_id, kind));
                entries.len() - 1
            }
        };
        let entry = &mut entries[idx];
        entry.names.push(ListName {
            kind: name_kind,
            text: get("name").to_owned(),
        });
        if !get("date_of_birth").is_empty() {
            let date = FuzzyDate::parse_iso(get("date_of_birth"))
                .ok_or_else(|| bad(format!("date_of_birth {:?}", get("date_of_birth"))))?;
            entry.birth_dates.push(date);
        }
        for code in get("country")
            .split(';')
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            let valid = code.len() == 2
                && code.bytes().all(|b| b.is_ascii_uppercase())
                && country_code(code).is_some();
            if !valid {
                return Err(bad(format!(
                    "country {code:?} is not an ISO 3166-1 alpha-2 code"
                )));
            }
            entry.countries.push(EntryCountry {
                role: CountryRole::Other,
                code: code.to_owned(),
            });
        }
        match (get("id_scheme"), get("id_value")) {
            ("", "") => {}
            ("", _) | (_, "") => {
                return Err(bad("id_scheme and id_value go together".to_owned()));
            }
            (scheme, value) => {
                let country = match get("id_country") {
                    "" => None,
                    code => Some(
                        country_code(code)
                            .ok_or_else(|| bad(format!("id_country {code:?}")))?
                            .to_owned(),
                    ),
                };
                let id = Identifier::new(scheme, value, country)
                    .ok_or_else(|| bad(format!("id_value {value:?} has no letters or digits")))?;
                entry.identifiers.push(id);
            }
        }
        if !get("address").is_empty() {
            entry.addresses.push(Address {
                text: get("address").to_owned(),
                country: None,
            });
        }
        if !get("program").is_empty() {
            entry.programs.push(get("program").to_owned());
        }
        for date_column in ["listed_on", "valid_until"] {
            let value = get(date_column);
            if !value.is_empty() && FuzzyDate::parse_iso(value).is_none_or(|d| d.approximate) {
                return Err(bad(format!("{date_column} {value:?} is not YYYY-MM-DD")));
            }
        }
    }
    let Some(list_id) = list_id else {
        return Err(ListError::new(ListErrorCode::Empty, FILE, None, "no rows"));
    };
    for entry in &mut entries {
        entry.seal();
    }
    Ok(ScreeningList::from_parsed(
        &list_id,
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
    fn rows_sharing_entry_id_form_one_entry() {
        let data = "list_id,entry_id,name,entry_kind,name_kind,date_of_birth,country,id_scheme,id_value,id_country\n\
            uz-lookout,L1,Ўткир Ғуломов,person,primary,~1975,UZ,PASSPORT,AA 1234567,UZ\n\
            uz-lookout,L1,O'tkir G'ulomov,,alias,,,,,\n\
            uz-lookout,L2,\"Toshkent Tekstil MChJ\",organization,,,UZ;KZ,,,\n";
        let list = parse(data.as_bytes(), "t").unwrap();
        assert_eq!(list.version.list_id, "uz-lookout");
        assert_eq!(list.entries.len(), 2);
        assert_eq!(list.entries[0].names.len(), 2);
        assert_eq!(list.entries[0].birth_dates[0].display(), "~1975");
        assert_eq!(list.entries[0].identifiers[0].value, "AA1234567");
        assert_eq!(list.entries[1].countries.len(), 2);
    }

    #[test]
    fn strictness() {
        let check = |data: &str, code: ListErrorCode| {
            let result = parse(data.as_bytes(), "t");
            assert_eq!(
                result.as_ref().err().map(|e| e.code),
                Some(code),
                "{data}: {result:?}"
            );
        };
        check(
            "list_id,entry_id,name,colour\nl,1,x,red\n",
            ListErrorCode::UnknownColumn,
        );
        check("list_id,name\nl,x\n", ListErrorCode::MissingField);
        check(
            "list_id,entry_id,name,date_of_birth\nl,1,x,1975-13\n",
            ListErrorCode::BadValue,
        );
        check(
            "list_id,entry_id,name,country\nl,1,x,Uzbekistan\n",
            ListErrorCode::BadValue,
        );
        check(
            "list_id,entry_id,name\nl,1,x\nm,2,y\n",
            ListErrorCode::BadValue,
        );
        check("list_id,entry_id,name\nl,1,\n", ListErrorCode::MissingField);
        check("list_id,entry_id,name\n", ListErrorCode::Empty);
        check("list_id,entry_id,name\nl,1,x,extra\n", ListErrorCode::Csv);
    }
}
