//! The stored forms of list entries and hits: a list entry as JSON, so a node can rebuild its
//! index from its own store without the publisher's files, and a hit's explanation as JSON,
//! so the officer's page, the API and the audit see the same facts the engine produced.
//!
//! Why JSON and not the list's own format: a node keeps every version it loaded, from
//! four formats, and must read each back identically years later; one self-describing form
//! per entry, decoded strictly, is the smallest thing that does that. The decoder checks
//! that the content hash it recomputes equals the stored one, so a row edited behind the
//! node's back is refused instead of silently changing what delta screening compares.

use serde_json::{Map, Value, json};

use crate::model::{
    Address, CountryRole, EntryCountry, EntryKind, FuzzyDate, Identifier, ListEntry, ListName,
    ListVersion, NameKind, ScreeningList, hex,
};
use crate::score::{KEY_VERSION, SCORER_VERSION, ScoreConfig};
use crate::screen::Hit;

/// Why a stored entry could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored list entry {entry_id:?}: {message}")]
pub struct StoredEntryError {
    /// The entry, when it could be read.
    pub entry_id: String,
    /// What is wrong.
    pub message: String,
}

fn country_role_str(role: CountryRole) -> &'static str {
    match role {
        CountryRole::Nationality => "nationality",
        CountryRole::Residence => "residence",
        CountryRole::Jurisdiction => "jurisdiction",
        CountryRole::Birth => "birth",
        CountryRole::Other => "other",
    }
}

fn country_role_parse(text: &str) -> Option<CountryRole> {
    Some(match text {
        "nationality" => CountryRole::Nationality,
        "residence" => CountryRole::Residence,
        "jurisdiction" => CountryRole::Jurisdiction,
        "birth" => CountryRole::Birth,
        "other" => CountryRole::Other,
        _ => return None,
    })
}

/// The entry as one JSON object (without its list id, which the version row holds).
pub fn entry_to_json(entry: &ListEntry) -> String {
    let value = json!({
        "entry_id": entry.entry_id,
        "kind": entry.kind.as_str(),
        "names": entry.names.iter().map(|n| json!([n.kind.as_str(), n.text])).collect::<Vec<_>>(),
        "birth_dates": entry.birth_dates.iter().map(|d| json!({
            "from": d.year_from, "to": d.year_to, "month": d.month, "day": d.day,
            "approximate": d.approximate,
        })).collect::<Vec<_>>(),
        "countries": entry.countries.iter()
            .map(|c| json!([country_role_str(c.role), c.code])).collect::<Vec<_>>(),
        "identifiers": entry.identifiers.iter()
            .map(|i| json!([i.scheme, i.value, i.country])).collect::<Vec<_>>(),
        "addresses": entry.addresses.iter()
            .map(|a| json!([a.text, a.country])).collect::<Vec<_>>(),
        "programs": entry.programs,
    });
    value.to_string()
}

struct Reader<'a> {
    entry_id: String,
    object: &'a Map<String, Value>,
}

impl<'a> Reader<'a> {
    fn fail(&self, message: impl Into<String>) -> StoredEntryError {
        StoredEntryError {
            entry_id: self.entry_id.clone(),
            message: message.into(),
        }
    }

    fn array(&self, field: &str) -> Result<&'a [Value], StoredEntryError> {
        self.object
            .get(field)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .ok_or_else(|| self.fail(format!("`{field}` is not an array")))
    }

    fn tuple<'v>(&self, value: &'v Value, n: usize) -> Result<&'v [Value], StoredEntryError> {
        match value.as_array() {
            Some(items) if items.len() == n => Ok(items),
            _ => Err(self.fail(format!("expected an array of {n}, found {value}"))),
        }
    }

    fn text<'v>(&self, value: &'v Value) -> Result<&'v str, StoredEntryError> {
        value
            .as_str()
            .ok_or_else(|| self.fail(format!("expected a string, found {value}")))
    }

    fn opt_text(&self, value: &Value) -> Result<Option<String>, StoredEntryError> {
        match value {
            Value::Null => Ok(None),
            other => self.text(other).map(|t| Some(t.to_owned())),
        }
    }

    fn small<T: TryFrom<u64>>(&self, value: Option<&Value>) -> Result<Option<T>, StoredEntryError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| T::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.fail(format!("number out of range: {v}"))),
        }
    }
}

/// Reads an entry written by [`entry_to_json`] back into list `list`, and checks that its
/// recomputed content hash is `content_hash`.
pub fn entry_from_json(
    list: &str,
    text: &str,
    content_hash: &[u8; 32],
) -> Result<ListEntry, StoredEntryError> {
    let value: Value = serde_json::from_str(text).map_err(|err| StoredEntryError {
        entry_id: String::new(),
        message: format!("not JSON: {err}"),
    })?;
    let Some(object) = value.as_object() else {
        return Err(StoredEntryError {
            entry_id: String::new(),
            message: "not a JSON object".to_owned(),
        });
    };
    let entry_id = object
        .get("entry_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let r = Reader {
        entry_id: entry_id.clone(),
        object,
    };
    if entry_id.is_empty() {
        return Err(r.fail("no entry_id"));
    }
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .and_then(EntryKind::parse)
        .ok_or_else(|| r.fail("unknown kind"))?;
    let mut entry = ListEntry::new(list, &entry_id, kind);
    for name in r.array("names")? {
        let [kind, text] = r.tuple(name, 2)? else {
            return Err(r.fail("bad name"));
        };
        entry.names.push(ListName {
            kind: NameKind::parse(r.text(kind)?)
                .ok_or_else(|| r.fail(format!("unknown name kind {kind}")))?,
            text: r.text(text)?.to_owned(),
        });
    }
    for date in r.array("birth_dates")? {
        let Some(fields) = date.as_object() else {
            return Err(r.fail("bad birth date"));
        };
        let year = |field: &str| {
            r.small::<u16>(fields.get(field))?
                .ok_or_else(|| r.fail(format!("birth date without `{field}`")))
        };
        entry.birth_dates.push(FuzzyDate {
            year_from: year("from")?,
            year_to: year("to")?,
            month: r.small(fields.get("month"))?,
            day: r.small(fields.get("day"))?,
            approximate: fields
                .get("approximate")
                .and_then(Value::as_bool)
                .ok_or_else(|| r.fail("birth date without `approximate`"))?,
        });
    }
    for country in r.array("countries")? {
        let [role, code] = r.tuple(country, 2)? else {
            return Err(r.fail("bad country"));
        };
        entry.countries.push(EntryCountry {
            role: country_role_parse(r.text(role)?)
                .ok_or_else(|| r.fail(format!("unknown country role {role}")))?,
            code: r.text(code)?.to_owned(),
        });
    }
    for id in r.array("identifiers")? {
        let [scheme, value, country] = r.tuple(id, 3)? else {
            return Err(r.fail("bad identifier"));
        };
        entry.identifiers.push(Identifier {
            scheme: r.text(scheme)?.to_owned(),
            value: r.text(value)?.to_owned(),
            country: r.opt_text(country)?,
        });
    }
    for address in r.array("addresses")? {
        let [text, country] = r.tuple(address, 2)? else {
            return Err(r.fail("bad address"));
        };
        entry.addresses.push(Address {
            text: r.text(text)?.to_owned(),
            country: r.opt_text(country)?,
        });
    }
    for program in r.array("programs")? {
        entry.programs.push(r.text(program)?.to_owned());
    }
    entry.seal();
    if &entry.content_hash != content_hash {
        return Err(r.fail(format!(
            "content hash {} does not match the stored {}",
            hex(&entry.content_hash),
            hex(content_hash)
        )));
    }
    Ok(entry)
}

/// A stored list version read back: its entries decoded and checked, in the order given.
pub fn list_from_stored<'a>(
    version: ListVersion,
    entries: impl IntoIterator<Item = (&'a str, &'a [u8; 32])>,
) -> Result<ScreeningList, StoredEntryError> {
    let entries = entries
        .into_iter()
        .map(|(body, hash)| entry_from_json(&version.list_id, body, hash))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ScreeningList { version, entries })
}

/// A hit's explanation as JSON (spec §7): list version, entry, matched name, declared
/// fingerprint, score and band, scorer/key/configuration versions, one line per aligned
/// token (which tokens met under which spelling) and the evidence split into what speaks
/// for the match and what speaks against it. Deterministic: the same hit and configuration
/// give the same bytes.
pub fn explanation_json(hit: &Hit, config: &ScoreConfig) -> Value {
    let evidence = |against: bool| {
        hit.evidence
            .iter()
            .filter(|e| (e.effect < 0.0) == against)
            .map(|e| json!({ "what": e.what, "effect": round4(e.effect) }))
            .collect::<Vec<_>>()
    };
    json!({
        "list": { "id": hit.list_id, "sha256": hit.list_sha256, "date": hit.list_date },
        "entry": {
            "id": hit.entry_id,
            "kind": hit.entry_kind.as_str(),
            "content_hash": hit.entry_content_hash,
        },
        "matched_name": hit.matched_name,
        "matched_name_kind": hit.matched_name_kind.as_str(),
        "query_fingerprint": hit.query_fingerprint,
        "score": round4(hit.score),
        "name_score": round4(hit.name_score),
        "band": hit.band.as_str(),
        "scorer": SCORER_VERSION,
        "key": KEY_VERSION,
        "config": config.fingerprint(),
        "tokens": hit.token_lines.iter().map(|l| l.trim_end()).collect::<Vec<_>>(),
        "evidence_for": evidence(false),
        "evidence_against": evidence(true),
    })
}

/// Rounds to four decimals, so stored scores do not carry float noise into digests.
pub fn round4(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::ScreenIndex;
    use crate::parse::lookout_csv;
    use crate::screen::{ScreenedParty, Screener};

    const LOOKOUT: &str = "list_id,entry_id,name,entry_kind,name_kind,date_of_birth,country,id_scheme,id_value,id_country,address,program\n\
        uz-lookout,L1,Хайдаров Шуҳрат,person,primary,~1970,UZ,PASSPORT,AA1234567,UZ,\"12 Navoiy, Tashkent\",SDGT\n\
        uz-lookout,L1,Shukhrat Khaydarov,person,alias,1971-03-02,,,,,,\n\
        uz-lookout,L2,Toshkent Tekstil MChJ,organization,primary,,UZ,UZ_STIR,301234567,UZ,,\n";

    #[test]
    fn entries_round_trip_and_tampering_is_refused() {
        let list = lookout_csv::parse(LOOKOUT.as_bytes(), "t").unwrap();
        for entry in &list.entries {
            let text = entry_to_json(entry);
            let back = entry_from_json("uz-lookout", &text, &entry.content_hash).unwrap();
            assert_eq!(&back, entry);
        }
        let entry = &list.entries[0];
        let tampered = entry_to_json(entry).replace("AA1234567", "AA7654321");
        let err = entry_from_json("uz-lookout", &tampered, &entry.content_hash).unwrap_err();
        assert!(err.message.contains("content hash"), "{err}");
        for bad in [
            "",
            "[]",
            "{\"entry_id\":\"x\"}",
            "{\"entry_id\":\"x\",\"kind\":\"ship\"}",
        ] {
            assert!(entry_from_json("l", bad, &[0; 32]).is_err(), "{bad}");
        }
    }

    #[test]
    fn explanation_splits_evidence_and_is_deterministic() {
        let list = lookout_csv::parse(LOOKOUT.as_bytes(), "t").unwrap();
        let screener = Screener::new(ScreenIndex::build(&[list]), ScoreConfig::default());
        let party = ScreenedParty {
            name: "Shuhrat Haydarov".to_owned(),
            country: Some("KZ".to_owned()),
            ..ScreenedParty::default()
        };
        let hits = screener
            .screen(&party, &mut screener.index.scratch())
            .unwrap();
        let hit = hits
            .iter()
            .find(|h| h.entry_id == "L1")
            .expect("a hit on L1");
        let first = explanation_json(hit, &screener.config);
        let second = explanation_json(hit, &screener.config);
        assert_eq!(first.to_string(), second.to_string());
        let against = first["evidence_against"].as_array().unwrap();
        assert!(
            against
                .iter()
                .any(|e| e["what"].as_str().unwrap().contains("KZ")),
            "{first}"
        );
        assert!(first["tokens"].as_array().is_some_and(|t| !t.is_empty()));
        assert_eq!(first["entry"]["id"], "L1");
    }
}
