//! The UN Security Council Consolidated List XML (`CONSOLIDATED_LIST` with `INDIVIDUALS`
//! and `ENTITIES`), read as a stream with `quick-xml` so a 2 MB list never becomes a DOM.
//!
//! Aliases of quality `Low` become weak names; `f.k.a.` become former names;
//! `NAME_ORIGINAL_SCRIPT` is kept as an original-script name so Cyrillic originals get every
//! romanisation at index time.

use std::collections::HashSet;

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::country::country_code;
use crate::error::{ListError, ListErrorCode};
use crate::model::{
    Address, CountryRole, EntryCountry, EntryKind, FuzzyDate, Identifier, ListEntry, ListName,
    NameKind, ScreeningList,
};
use crate::parse::decode_text;

/// The list id of the UN consolidated list.
pub const LIST_ID: &str = "un-sc-consolidated";
const FILE: &str = "consolidated.xml";

#[derive(Default)]
struct Alias {
    quality: String,
    name: String,
}

#[derive(Default)]
struct Dob {
    kind: String,
    date: String,
    year: String,
    from_year: String,
    to_year: String,
}

#[derive(Default)]
struct Document {
    kind: String,
    number: String,
    country: String,
}

#[derive(Default)]
struct Place {
    parts: Vec<String>,
    country: String,
}

#[derive(Default)]
struct Record {
    kind: Option<EntryKind>,
    data_id: String,
    name_parts: [String; 4],
    original: String,
    list_type: String,
    aliases: Vec<Alias>,
    dobs: Vec<Dob>,
    documents: Vec<Document>,
    addresses: Vec<Place>,
    nationalities: Vec<String>,
}

/// Parses one UN consolidated XML file.
pub fn parse(bytes: &[u8], fetched_at: &str) -> Result<ScreeningList, ListError> {
    let text = decode_text(bytes);
    let mut reader = Reader::from_str(&text);
    let mut stack: Vec<String> = Vec::new();
    let mut buffer = String::new();
    let mut record: Option<Record> = None;
    let mut entries: Vec<ListEntry> = Vec::new();
    let mut seen_ids: HashSet<String> = HashSet::new();
    let mut publisher_date = None;
    let mut saw_root = false;
    let xml_error = |reader: &Reader<&[u8]>, message: String| {
        let position = reader.buffer_position() as usize;
        let line = text.as_bytes()[..position.min(text.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64
            + 1;
        ListError::new(ListErrorCode::Xml, FILE, Some(line), message)
    };
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                let message = e.to_string();
                let code = if message.contains("end") || message.contains("EOF") {
                    ListErrorCode::Truncated
                } else {
                    ListErrorCode::Xml
                };
                let mut error = xml_error(&reader, message);
                error.code = code;
                return Err(error);
            }
        };
        match event {
            Event::Start(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                if stack.is_empty() {
                    if name != "CONSOLIDATED_LIST" {
                        return Err(ListError::new(
                            ListErrorCode::WrongFormat,
                            FILE,
                            Some(1),
                            format!("root element is <{name}>, expected <CONSOLIDATED_LIST>"),
                        ));
                    }
                    saw_root = true;
                    for attribute in start.attributes().flatten() {
                        if attribute.key.as_ref() == b"dateGenerated" {
                            publisher_date =
                                attribute.unescape_value().ok().map(|v| v.into_owned());
                        }
                    }
                }
                match name.as_str() {
                    "INDIVIDUAL" => {
                        record = Some(Record {
                            kind: Some(EntryKind::Person),
                            ..Record::default()
                        })
                    }
                    "ENTITY" => {
                        record = Some(Record {
                            kind: Some(EntryKind::Organization),
                            ..Record::default()
                        })
                    }
                    _ => {}
                }
                if let Some(record) = record.as_mut() {
                    match name.as_str() {
                        "INDIVIDUAL_ALIAS" | "ENTITY_ALIAS" => {
                            record.aliases.push(Alias::default())
                        }
                        "INDIVIDUAL_DATE_OF_BIRTH" => record.dobs.push(Dob::default()),
                        "INDIVIDUAL_DOCUMENT" => record.documents.push(Document::default()),
                        "INDIVIDUAL_ADDRESS" | "ENTITY_ADDRESS" => {
                            record.addresses.push(Place::default())
                        }
                        _ => {}
                    }
                }
                stack.push(name);
                buffer.clear();
            }
            Event::Empty(_) => {}
            Event::Text(content) => {
                let decoded = content
                    .xml_content()
                    .map_err(|e| xml_error(&reader, e.to_string()))?;
                buffer.push_str(&decoded);
            }
            Event::CData(content) => {
                buffer.push_str(&String::from_utf8_lossy(&content));
            }
            Event::GeneralRef(reference) => {
                if let Ok(Some(c)) = reference.resolve_char_ref() {
                    buffer.push(c);
                } else {
                    let name = reference.decode().unwrap_or_default();
                    buffer.push_str(match name.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        other => {
                            return Err(xml_error(&reader, format!("unknown entity &{other};")));
                        }
                    });
                }
            }
            Event::End(_) => {
                let Some(name) = stack.pop() else {
                    return Err(xml_error(&reader, "end tag without start".to_owned()));
                };
                let value = buffer.trim().to_owned();
                buffer.clear();
                let parent = stack.last().map(String::as_str).unwrap_or("");
                if name == "INDIVIDUAL" || name == "ENTITY" {
                    if let Some(done) = record.take() {
                        let entry = finish(done)?;
                        if !seen_ids.insert(entry.entry_id.clone()) {
                            return Err(ListError::new(
                                ListErrorCode::Duplicate,
                                FILE,
                                None,
                                format!("DATAID {} appears twice", entry.entry_id),
                            ));
                        }
                        entries.push(entry);
                    }
                } else if let Some(record) = record.as_mut() {
                    field(record, parent, &name, value);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(ListError::new(
            ListErrorCode::Truncated,
            FILE,
            None,
            format!("the file ends inside <{}>", stack.join("><")),
        ));
    }
    if !saw_root {
        return Err(ListError::new(
            ListErrorCode::WrongFormat,
            FILE,
            None,
            "no <CONSOLIDATED_LIST> element",
        ));
    }
    if entries.is_empty() {
        return Err(ListError::new(
            ListErrorCode::Empty,
            FILE,
            None,
            "no entries",
        ));
    }
    Ok(ScreeningList::from_parsed(
        LIST_ID,
        publisher_date,
        fetched_at,
        &[bytes],
        entries,
    ))
}

fn field(record: &mut Record, parent: &str, name: &str, value: String) {
    if value.is_empty() {
        return;
    }
    match (parent, name) {
        ("INDIVIDUAL" | "ENTITY", "DATAID") => record.data_id = value,
        ("INDIVIDUAL" | "ENTITY", "FIRST_NAME") => record.name_parts[0] = value,
        ("INDIVIDUAL" | "ENTITY", "SECOND_NAME") => record.name_parts[1] = value,
        ("INDIVIDUAL" | "ENTITY", "THIRD_NAME") => record.name_parts[2] = value,
        ("INDIVIDUAL" | "ENTITY", "FOURTH_NAME") => record.name_parts[3] = value,
        ("INDIVIDUAL" | "ENTITY", "NAME_ORIGINAL_SCRIPT") => record.original = value,
        ("INDIVIDUAL" | "ENTITY", "UN_LIST_TYPE") => record.list_type = value,
        ("NATIONALITY", "VALUE") => record.nationalities.push(value),
        ("INDIVIDUAL_ALIAS" | "ENTITY_ALIAS", "QUALITY") => {
            if let Some(alias) = record.aliases.last_mut() {
                alias.quality = value;
            }
        }
        ("INDIVIDUAL_ALIAS" | "ENTITY_ALIAS", "ALIAS_NAME") => {
            if let Some(alias) = record.aliases.last_mut() {
                alias.name = value;
            }
        }
        ("INDIVIDUAL_DATE_OF_BIRTH", tag) => {
            if let Some(dob) = record.dobs.last_mut() {
                match tag {
                    "TYPE_OF_DATE" => dob.kind = value,
                    "DATE" => dob.date = value,
                    "YEAR" => dob.year = value,
                    "FROM_YEAR" => dob.from_year = value,
                    "TO_YEAR" => dob.to_year = value,
                    _ => {}
                }
            }
        }
        ("INDIVIDUAL_DOCUMENT", tag) => {
            if let Some(doc) = record.documents.last_mut() {
                match tag {
                    "TYPE_OF_DOCUMENT" => doc.kind = value,
                    "NUMBER" => doc.number = value,
                    "ISSUING_COUNTRY" | "COUNTRY_OF_ISSUE" => doc.country = value,
                    _ => {}
                }
            }
        }
        ("INDIVIDUAL_ADDRESS" | "ENTITY_ADDRESS", tag) => {
            if let Some(place) = record.addresses.last_mut() {
                match tag {
                    "COUNTRY" => place.country = value,
                    "STREET" | "CITY" | "STATE_PROVINCE" | "ZIP_CODE" => place.parts.push(value),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn finish(record: Record) -> Result<ListEntry, ListError> {
    if record.data_id.is_empty() {
        return Err(ListError::new(
            ListErrorCode::MissingField,
            FILE,
            None,
            "a record has no DATAID",
        ));
    }
    let kind = record.kind.unwrap_or(EntryKind::Unknown);
    let mut entry = ListEntry::new(LIST_ID, &record.data_id, kind);
    let primary = record
        .name_parts
        .iter()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    if primary.is_empty() {
        return Err(ListError::new(
            ListErrorCode::MissingField,
            FILE,
            None,
            format!("DATAID {} has no FIRST_NAME", record.data_id),
        ));
    }
    entry.names.push(ListName {
        kind: NameKind::Primary,
        text: primary,
    });
    if !record.original.is_empty() {
        entry.names.push(ListName {
            kind: NameKind::OriginalScript,
            text: record.original,
        });
    }
    for alias in record.aliases {
        if alias.name.is_empty() {
            continue;
        }
        let kind = match alias.quality.as_str() {
            "Low" => NameKind::Weak,
            "f.k.a." => NameKind::Former,
            _ => NameKind::Alias,
        };
        entry.names.push(ListName {
            kind,
            text: alias.name,
        });
    }
    for dob in record.dobs {
        let date = if !dob.date.is_empty() {
            FuzzyDate::parse_iso(&dob.date)
        } else if !dob.year.is_empty() {
            dob.year.parse().ok().map(FuzzyDate::year)
        } else if !dob.from_year.is_empty() && !dob.to_year.is_empty() {
            match (dob.from_year.parse::<u16>(), dob.to_year.parse::<u16>()) {
                (Ok(from), Ok(to)) => Some(FuzzyDate {
                    year_from: from.min(to),
                    year_to: to.max(from),
                    month: None,
                    day: None,
                    approximate: false,
                }),
                _ => None,
            }
        } else {
            None
        };
        if let Some(mut date) = date {
            date.approximate = dob.kind == "APPROXIMATELY";
            entry.birth_dates.push(date);
        }
    }
    for nationality in &record.nationalities {
        if let Some(code) = country_code(nationality) {
            entry.countries.push(EntryCountry {
                role: CountryRole::Nationality,
                code: code.to_owned(),
            });
        }
    }
    for doc in record.documents {
        let scheme = if doc.kind.to_ascii_lowercase().contains("passport") {
            "PASSPORT"
        } else {
            "NATIONAL_ID"
        };
        let country = country_code(&doc.country).map(str::to_owned);
        if let Some(id) = Identifier::new(scheme, &doc.number, country) {
            entry.identifiers.push(id);
        }
    }
    for place in record.addresses {
        let country = country_code(&place.country).map(str::to_owned);
        if let Some(code) = &country {
            entry.countries.push(EntryCountry {
                role: CountryRole::Residence,
                code: code.clone(),
            });
        }
        let mut parts = place.parts;
        if !place.country.is_empty() {
            parts.push(place.country);
        }
        if !parts.is_empty() {
            entry.addresses.push(Address {
                text: parts.join(", "),
                country,
            });
        }
    }
    if !record.list_type.is_empty() {
        entry.programs.push(record.list_type);
    }
    entry.seal();
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<CONSOLIDATED_LIST dateGenerated="2026-02-27T00:00:09.554Z"><INDIVIDUALS><INDIVIDUAL>
<DATAID>1</DATAID><FIRST_NAME>ERIC</FIRST_NAME><SECOND_NAME>BADEGE</SECOND_NAME>
<NAME_ORIGINAL_SCRIPT>Эрик Бадеге</NAME_ORIGINAL_SCRIPT><UN_LIST_TYPE>DRC</UN_LIST_TYPE>
<NATIONALITY><VALUE>Democratic Republic of the Congo</VALUE></NATIONALITY>
<INDIVIDUAL_ALIAS><QUALITY>Low</QUALITY><ALIAS_NAME>Eric B &amp; Co</ALIAS_NAME></INDIVIDUAL_ALIAS>
<INDIVIDUAL_ALIAS><QUALITY/><ALIAS_NAME/></INDIVIDUAL_ALIAS>
<INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>APPROXIMATELY</TYPE_OF_DATE><YEAR>1971</YEAR></INDIVIDUAL_DATE_OF_BIRTH>
<INDIVIDUAL_DOCUMENT><TYPE_OF_DOCUMENT>Passport</TYPE_OF_DOCUMENT><NUMBER>AB 12-3</NUMBER><ISSUING_COUNTRY>Rwanda</ISSUING_COUNTRY></INDIVIDUAL_DOCUMENT>
</INDIVIDUAL></INDIVIDUALS><ENTITIES><ENTITY><DATAID>2</DATAID><FIRST_NAME>ACME TRADING</FIRST_NAME>
<ENTITY_ADDRESS><CITY>Tashkent</CITY><COUNTRY>Uzbekistan</COUNTRY></ENTITY_ADDRESS></ENTITY></ENTITIES>
</CONSOLIDATED_LIST>"#;

    #[test]
    fn reads_persons_entities_aliases_dates_documents() {
        let list = parse(SAMPLE.as_bytes(), "t").unwrap();
        assert_eq!(
            list.version.publisher_date.as_deref(),
            Some("2026-02-27T00:00:09.554Z")
        );
        assert_eq!(list.entries.len(), 2);
        let person = &list.entries[0];
        assert_eq!(person.names[0].text, "ERIC BADEGE");
        assert_eq!(person.names[1].kind, NameKind::OriginalScript);
        assert_eq!(person.names[2].kind, NameKind::Weak);
        assert_eq!(person.names[2].text, "Eric B & Co");
        assert_eq!(person.names.len(), 3);
        assert_eq!(person.birth_dates[0].display(), "~1971");
        assert_eq!(person.identifiers[0].value, "AB123");
        assert_eq!(person.identifiers[0].country.as_deref(), Some("RW"));
        assert_eq!(person.countries[0].code, "CD");
        let entity = &list.entries[1];
        assert_eq!(entity.kind, EntryKind::Organization);
        assert_eq!(entity.addresses[0].country.as_deref(), Some("UZ"));
    }

    #[test]
    fn truncated_wrong_root_and_garbage_are_refused() {
        let cut = &SAMPLE.as_bytes()[..SAMPLE.len() / 2];
        assert_eq!(parse(cut, "t").unwrap_err().code, ListErrorCode::Truncated);
        let wrong = b"<?xml version=\"1.0\"?><sdnList></sdnList>";
        assert_eq!(
            parse(wrong, "t").unwrap_err().code,
            ListErrorCode::WrongFormat
        );
        assert!(parse(b"ent_num,name\n1,x\n", "t").is_err());
        let empty = b"<CONSOLIDATED_LIST></CONSOLIDATED_LIST>";
        assert_eq!(parse(empty, "t").unwrap_err().code, ListErrorCode::Empty);
    }
}
