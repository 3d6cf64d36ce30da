//! OFAC SDN legacy CSV (`sdn.csv`, `alt.csv`, `add.csv`), with the quirks the spec pins:
//! no header, `-0- ` as null, CRLF, a final `0x1A` byte, `LAST, First` for individuals and
//! facts packed into `Remarks` (read here by one small grammar, [`parse_remarks`]).
//!
//! The final `0x1A` is OFAC's end-of-file mark; a file without it was cut short in transit
//! and is refused as truncated rather than silently missing its last entries.

use std::collections::HashMap;

use crate::country::country_code;
use crate::error::{ListError, ListErrorCode};
use crate::model::{
    Address, CountryRole, EntryCountry, EntryKind, FuzzyDate, Identifier, ListEntry, ListName,
    NameKind, ScreeningList,
};
use crate::parse::{decode_text, refuse_markup};

/// The list id of OFAC's SDN list.
pub const LIST_ID: &str = "us-ofac-sdn";

/// Parses the three files of one SDN edition. `alt` and `add` may be absent.
pub fn parse(
    sdn: &[u8],
    alt: Option<&[u8]>,
    add: Option<&[u8]>,
    fetched_at: &str,
) -> Result<ScreeningList, ListError> {
    let sdn_rows = read_rows("sdn.csv", sdn, 12)?;
    let mut entries: Vec<ListEntry> = Vec::with_capacity(sdn_rows.len());
    let mut by_id: HashMap<String, usize> = HashMap::with_capacity(sdn_rows.len());
    for (line, row) in sdn_rows {
        let ent_num = required(&row[0], "sdn.csv", line, "ent_num")?;
        let name = required(&row[1], "sdn.csv", line, "SDN_Name")?;
        let kind = match row[2].as_deref() {
            None => EntryKind::Organization,
            Some("individual") => EntryKind::Person,
            Some("vessel") => EntryKind::Vessel,
            Some("aircraft") => EntryKind::Aircraft,
            Some(other) => {
                return Err(ListError::new(
                    ListErrorCode::BadValue,
                    "sdn.csv",
                    Some(line),
                    format!("SDN_Type {other:?} is not individual, vessel or aircraft"),
                ));
            }
        };
        let mut entry = ListEntry::new(LIST_ID, &ent_num, kind);
        entry.names.push(ListName {
            kind: NameKind::Primary,
            text: display_name(&name, kind),
        });
        if let Some(programs) = &row[3] {
            entry.programs.extend(
                programs
                    .split(['[', ']', ' '])
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
            );
        }
        if let Some(flag) = row[9].as_deref().and_then(country_code) {
            entry.countries.push(EntryCountry {
                role: CountryRole::Jurisdiction,
                code: flag.to_owned(),
            });
        }
        if let Some(remarks) = &row[11] {
            parse_remarks(remarks, &mut entry);
        }
        if by_id.insert(ent_num.clone(), entries.len()).is_some() {
            return Err(ListError::new(
                ListErrorCode::Duplicate,
                "sdn.csv",
                Some(line),
                format!("ent_num {ent_num} appears twice"),
            ));
        }
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err(ListError::new(
            ListErrorCode::Empty,
            "sdn.csv",
            None,
            "no entries",
        ));
    }
    if let Some(alt) = alt {
        for (line, row) in read_rows("alt.csv", alt, 5)? {
            let ent_num = required(&row[0], "alt.csv", line, "ent_num")?;
            let Some(&idx) = by_id.get(&ent_num) else {
                return Err(orphan("alt.csv", line, &ent_num));
            };
            let Some(name) = row[3].clone() else { continue };
            let kind = match row[2].as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("fka") | Some("nka") => NameKind::Former,
                _ if row[4]
                    .as_deref()
                    .is_some_and(|r| r.to_ascii_lowercase().contains("weak")) =>
                {
                    NameKind::Weak
                }
                _ => NameKind::Alias,
            };
            let entry = &mut entries[idx];
            let text = display_name(&name, entry.kind);
            entry.names.push(ListName { kind, text });
        }
    }
    if let Some(add) = add {
        for (line, row) in read_rows("add.csv", add, 6)? {
            let ent_num = required(&row[0], "add.csv", line, "ent_num")?;
            let Some(&idx) = by_id.get(&ent_num) else {
                return Err(orphan("add.csv", line, &ent_num));
            };
            let country = row[4].as_deref().and_then(country_code).map(str::to_owned);
            let text = [&row[2], &row[3], &row[4]]
                .iter()
                .filter_map(|f| f.as_deref())
                .collect::<Vec<_>>()
                .join(", ");
            let entry = &mut entries[idx];
            if let Some(code) = &country {
                entry.countries.push(EntryCountry {
                    role: CountryRole::Residence,
                    code: code.clone(),
                });
            }
            if !text.is_empty() {
                entry.addresses.push(Address { text, country });
            }
        }
    }
    for entry in &mut entries {
        entry.seal();
    }
    let files: Vec<&[u8]> = [Some(sdn), alt, add].into_iter().flatten().collect();
    Ok(ScreeningList::from_parsed(
        LIST_ID, None, fetched_at, &files, entries,
    ))
}

fn orphan(file: &str, line: u64, ent_num: &str) -> ListError {
    ListError::new(
        ListErrorCode::Orphan,
        file,
        Some(line),
        format!("ent_num {ent_num} is not in sdn.csv"),
    )
}

fn required(
    field: &Option<String>,
    file: &str,
    line: u64,
    what: &str,
) -> Result<String, ListError> {
    field.clone().ok_or_else(|| {
        ListError::new(
            ListErrorCode::MissingField,
            file,
            Some(line),
            format!("{what} is null"),
        )
    })
}

/// `LAST, First` → `First LAST` for persons; other names unchanged.
fn display_name(name: &str, kind: EntryKind) -> String {
    if kind == EntryKind::Person
        && let Some((last, first)) = name.split_once(", ")
        && !first.contains(',')
        && !first.trim().is_empty()
    {
        return format!("{} {}", first.trim(), last.trim());
    }
    name.trim().to_owned()
}

type Row = Vec<Option<String>>;

/// Reads a headerless OFAC CSV file into rows of exactly `n_columns`, nulls as `None`.
fn read_rows(file: &str, bytes: &[u8], n_columns: usize) -> Result<Vec<(u64, Row)>, ListError> {
    let Some((&last, body)) = bytes.split_last() else {
        return Err(ListError::new(
            ListErrorCode::Empty,
            file,
            None,
            "empty file",
        ));
    };
    if last != 0x1a {
        return Err(ListError::new(
            ListErrorCode::Truncated,
            file,
            None,
            "the file does not end with OFAC's 0x1A end-of-file byte; it was cut short",
        ));
    }
    let text = decode_text(body);
    refuse_markup(file, &text, "OFAC legacy CSV")?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            ListError::new(
                ListErrorCode::Csv,
                file,
                e.position().map(|p| p.line()),
                e.to_string(),
            )
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty()) {
            continue;
        }
        if record.len() != n_columns {
            return Err(ListError::new(
                ListErrorCode::WrongFormat,
                file,
                Some(line),
                format!("{} columns, OFAC {file} has {n_columns}", record.len()),
            ));
        }
        rows.push((
            line,
            record
                .iter()
                .map(|f| {
                    let f = f.trim();
                    (f != "-0-" && !f.is_empty()).then(|| f.to_owned())
                })
                .collect(),
        ));
    }
    Ok(rows)
}

/// Reads the facts OFAC packs into `Remarks` (`DOB 10 Dec 1948; POB Egypt; Passport 1084010
/// (Egypt); nationality Iran; …`). Unknown items are ignored: they stay in the published
/// file and are not screening evidence.
pub fn parse_remarks(remarks: &str, entry: &mut ListEntry) {
    for item in remarks.split(';') {
        let item = item.trim().trim_end_matches('.');
        let item = item.strip_prefix("alt. ").unwrap_or(item);
        if let Some(rest) = item.strip_prefix("DOB ") {
            if let Some(date) = parse_ofac_date(rest) {
                entry.birth_dates.push(date);
            }
        } else if let Some(rest) = item.strip_prefix("POB ") {
            let country = rest.rsplit(',').next().unwrap_or(rest);
            if let Some(code) = country_code(country) {
                entry.countries.push(EntryCountry {
                    role: CountryRole::Birth,
                    code: code.to_owned(),
                });
            }
        } else if let Some(rest) = item
            .strip_prefix("nationality ")
            .or_else(|| item.strip_prefix("citizen "))
        {
            if let Some(code) = country_code(rest) {
                entry.countries.push(EntryCountry {
                    role: CountryRole::Nationality,
                    code: code.to_owned(),
                });
            }
        } else if let Some(rest) = item.strip_prefix("Passport ") {
            push_identifier(entry, "PASSPORT", rest);
        } else if let Some(rest) = item.strip_prefix("National ID No. ") {
            push_identifier(entry, "NATIONAL_ID", rest);
        } else if let Some(rest) = item.strip_prefix("Tax ID No. ") {
            push_identifier(entry, "TAX_ID", rest);
        } else if let Some(rest) = item.strip_prefix("Vessel Registration Identification IMO ") {
            push_identifier(entry, "IMO", rest);
        } else if let Some(rest) = item.strip_prefix("SWIFT/BIC ") {
            push_identifier(entry, "BIC", rest);
        } else if let Some(rest) = item.strip_prefix("Registration Number ") {
            push_identifier(entry, "REGISTRATION", rest);
        }
    }
}

/// `NUMBER (Country)` or `NUMBER`.
fn push_identifier(entry: &mut ListEntry, scheme: &str, text: &str) {
    let (value, country) = match text.split_once(" (") {
        Some((value, rest)) => (
            value,
            country_code(rest.trim_end_matches(')')).map(str::to_owned),
        ),
        None => (text, None),
    };
    if let Some(id) = Identifier::new(scheme, value, country) {
        entry.identifiers.push(id);
    }
}

/// `10 Dec 1948`, `Dec 1948`, `1948`, `circa 1958`, `1955 to 1958`.
fn parse_ofac_date(text: &str) -> Option<FuzzyDate> {
    let (approximate, text) = match text.strip_prefix("circa ") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if let Some((from, to)) = text.split_once(" to ") {
        let from = parse_ofac_date(from)?;
        let to = parse_ofac_date(to)?;
        return Some(FuzzyDate {
            year_from: from.year_from.min(to.year_to),
            year_to: to.year_to.max(from.year_from),
            month: None,
            day: None,
            approximate,
        });
    }
    let parts: Vec<&str> = text.split_whitespace().collect();
    let year = |s: &str| -> Option<u16> {
        (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let month = |s: &str| -> Option<u8> {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        MONTHS.iter().position(|m| *m == s).map(|i| i as u8 + 1)
    };
    let mut date = match parts.as_slice() {
        [y] => FuzzyDate::year(year(y)?),
        [m, y] => FuzzyDate {
            month: Some(month(m)?),
            ..FuzzyDate::year(year(y)?)
        },
        [d, m, y] => {
            let day: u8 = d.parse().ok().filter(|d| (1..=31).contains(d))?;
            FuzzyDate {
                month: Some(month(m)?),
                day: Some(day),
                ..FuzzyDate::year(year(y)?)
            }
        }
        _ => return None,
    };
    date.approximate = approximate;
    Some(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Vec<u8> {
        let mut bytes = text.replace('\n', "\r\n").into_bytes();
        bytes.push(0x1a);
        bytes
    }

    #[test]
    fn quirks_null_marker_crlf_eof_and_name_order() {
        let sdn = file(concat!(
            "36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n",
            "2674,\"HUSSEIN, Saddam\",\"individual\",\"IRAQ\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,",
            "\"DOB 28 Apr 1937; POB al-Awja, near Tikrit, Iraq; nationality Iraq; Passport 123-45 (Iraq).\"\n",
        ));
        let alt = file(
            "2674,1,\"aka\",\"AL-TIKRITI, Saddam\",-0- \n36,2,\"fka\",\"AERO-CARIBBEAN\",-0- \n",
        );
        let list = parse(&sdn, Some(&alt), None, "2026-01-01T00:00:00Z").unwrap();
        assert_eq!(list.entries.len(), 2);
        let airline = &list.entries[0];
        assert_eq!(airline.kind, EntryKind::Organization);
        assert_eq!(airline.programs, vec!["CUBA"]);
        assert_eq!(airline.names[1].kind, NameKind::Former);
        let person = &list.entries[1];
        assert_eq!(person.kind, EntryKind::Person);
        assert_eq!(person.names[0].text, "Saddam HUSSEIN");
        assert_eq!(person.names[1].text, "Saddam AL-TIKRITI");
        assert_eq!(person.birth_dates[0].display(), "1937-04-28");
        assert!(
            person
                .countries
                .iter()
                .any(|c| c.code == "IQ" && c.role == CountryRole::Birth)
        );
        assert_eq!(person.identifiers[0].value, "12345");
        assert_eq!(person.identifiers[0].country.as_deref(), Some("IQ"));
    }

    #[test]
    fn missing_eof_byte_is_truncation() {
        let mut sdn = file("36,\"A\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n");
        sdn.pop();
        let err = parse(&sdn, None, None, "t").unwrap_err();
        assert_eq!(err.code, ListErrorCode::Truncated);
    }

    #[test]
    fn wrong_column_count_orphans_and_duplicates_are_refused() {
        let err = parse(&file("36,\"A\",-0- \n"), None, None, "t").unwrap_err();
        assert_eq!(err.code, ListErrorCode::WrongFormat);
        let sdn = file("36,\"A\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n");
        let alt = file("99,1,\"aka\",\"B\",-0- \n");
        assert_eq!(
            parse(&sdn, Some(&alt), None, "t").unwrap_err().code,
            ListErrorCode::Orphan
        );
        let twice = file(concat!(
            "36,\"A\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n",
            "36,\"B\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n"
        ));
        assert_eq!(
            parse(&twice, None, None, "t").unwrap_err().code,
            ListErrorCode::Duplicate
        );
        let mut html = b"<!DOCTYPE html><html>503</html>".to_vec();
        html.push(0x1a);
        assert_eq!(
            parse(&html, None, None, "t").unwrap_err().code,
            ListErrorCode::WrongFormat
        );
    }

    #[test]
    fn remark_dates() {
        assert_eq!(parse_ofac_date("circa 1958").unwrap().display(), "~1958");
        assert_eq!(
            parse_ofac_date("1955 to 1958").unwrap().display(),
            "1955..1958"
        );
        assert_eq!(parse_ofac_date("Dec 1948").unwrap().display(), "1948-12");
        assert!(parse_ofac_date("sometime").is_none());
    }

    #[test]
    fn windows_1252_fallback() {
        let mut sdn =
            b"36,\"CAF\xc9 \x93X\x94\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n"
                .to_vec();
        sdn.push(0x1a);
        let list = parse(&sdn, None, None, "t").unwrap();
        assert_eq!(list.entries[0].names[0].text, "CAFÉ “X”");
    }
}
