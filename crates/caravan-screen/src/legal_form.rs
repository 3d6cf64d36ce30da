//! Legal company forms (`ООО`, `MChJ`, `JSC`, `GmbH`, …): found at either end of an
//! organisation's name, removed from the tokens that are compared, and kept as a qualifier
//! (spec §3 step 7). The table is `opensanctions/rigour`'s `org_types.yml`, embedded, plus
//! Caravan's Uzbek supplement, which wins where they disagree (`ХК` is a private enterprise
//! for UZ parties, not a JSC).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::normalize::basic_tokens;

const ORG_TYPES_YML: &str = include_str!("../data/legal_forms.yml");

/// A legal form found in a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalForm {
    /// Display form from the table (`LLC`, `MChJ`, …).
    pub display: String,
    /// Generic class (`LLC`, `JSC`, `SP`, `JV`, `SOE`, …), when the table gives one.
    pub generic: Option<String>,
}

/// Caravan's supplement (spec §3): `(aliases, display, generic)`.
const SUPPLEMENT: &[(&[&str], &str, &str)] = &[
    (&["aj", "аж", "aksiyadorlik jamiyati"], "AJ", "JSC"),
    (&["oaj", "оаж", "ochiq aksiyadorlik jamiyati"], "OAJ", "JSC"),
    (
        &["yoaj", "ёаж", "yopiq aksiyadorlik jamiyati"],
        "YoAJ",
        "JSC",
    ),
    (&["ak", "ак", "aksiyadorlik kompaniyasi"], "AK", "JSC"),
    (&["atb", "атб", "aksiyadorlik tijorat banki"], "ATB", "JSC"),
    (&["qk", "ққ", "қк", "qo'shma korxona"], "QK", "JV"),
    (&["duk", "дук", "davlat unitar korxonasi"], "DUK", "SOE"),
    (&["xk", "хк", "xususiy korxona"], "XK", "SP"),
    (&["xt", "хт", "xususiy tadbirkorlik"], "XT", "SP"),
    (&["yatt", "ятт", "yakka tartibdagi tadbirkor"], "YaTT", "SP"),
    (&["fx", "фх", "fermer xo'jaligi"], "FX", "SP"),
    (
        &["mchj", "мчж", "mas'uliyati cheklangan jamiyat"],
        "MChJ",
        "LLC",
    ),
];

/// Forms stripped only at the end of a name (spec §3: "Corp., Co."); at the start they are
/// part of the name (`Company Store`).
const END_ONLY: &[(&str, &str)] = &[
    ("corp", "Corp."),
    ("corporation", "Corp."),
    ("co", "Co."),
    ("company", "Co."),
];

/// The compiled table: space-joined normalised alias → form.
pub struct LegalForms {
    by_alias: HashMap<String, LegalForm>,
    max_tokens: usize,
}

/// The embedded table, parsed once.
pub fn legal_forms() -> &'static LegalForms {
    static TABLE: OnceLock<LegalForms> = OnceLock::new();
    TABLE.get_or_init(|| LegalForms::from_yaml(ORG_TYPES_YML))
}

fn unquote(value: &str) -> &str {
    let value = value.trim();
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

impl LegalForms {
    /// Reads rigour's `org_types.yml` layout: `types:` then records of `display`,
    /// `compare`, `generic` and an `aliases:` list. Only that layout is accepted; the file
    /// is embedded, so a layout change is caught by this crate's tests, not at run time.
    pub fn from_yaml(text: &str) -> LegalForms {
        struct Record {
            display: String,
            generic: Option<String>,
            aliases: Vec<String>,
        }
        let mut records: Vec<Record> = Vec::new();
        for raw_line in text.lines() {
            let line = match raw_line.find(" #") {
                Some(at) => &raw_line[..at],
                None => raw_line,
            };
            if line.trim_start().starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("      - ") {
                if let Some(record) = records.last_mut() {
                    record.aliases.push(unquote(rest).to_owned());
                }
                continue;
            }
            let (starts_record, body) = match line.strip_prefix("  - ") {
                Some(body) => (true, body),
                None => match line.strip_prefix("    ") {
                    Some(body) => (false, body),
                    None => continue,
                },
            };
            if starts_record {
                records.push(Record {
                    display: String::new(),
                    generic: None,
                    aliases: Vec::new(),
                });
            }
            let Some(record) = records.last_mut() else {
                continue;
            };
            if let Some((key, value)) = body.split_once(':') {
                let value = unquote(value);
                match key.trim() {
                    "display" => record.display = value.to_owned(),
                    "generic" if !value.is_empty() => record.generic = Some(value.to_owned()),
                    _ => {}
                }
            }
        }
        let mut by_alias = HashMap::new();
        let mut max_tokens = 1;
        let mut insert = |alias: &str, form: &LegalForm| {
            let tokens = basic_tokens(alias);
            if tokens.is_empty() {
                return;
            }
            max_tokens = max_tokens.max(tokens.len());
            by_alias.insert(tokens.join(" "), form.clone());
            if tokens.len() > 1 && tokens.iter().all(|t| t.chars().count() == 1) {
                by_alias.insert(tokens.concat(), form.clone());
            }
        };
        for record in &records {
            let display = if record.display.is_empty() {
                record.aliases.first().cloned().unwrap_or_default()
            } else {
                record.display.clone()
            };
            let form = LegalForm {
                display,
                generic: record.generic.clone(),
            };
            if !record.display.is_empty() {
                insert(&record.display, &form);
            }
            for alias in &record.aliases {
                insert(alias, &form);
            }
        }
        for (aliases, display, generic) in SUPPLEMENT {
            let form = LegalForm {
                display: (*display).to_owned(),
                generic: Some((*generic).to_owned()),
            };
            for alias in *aliases {
                insert(alias, &form);
            }
        }
        LegalForms {
            by_alias,
            max_tokens: max_tokens.min(6),
        }
    }

    /// Number of distinct aliases known.
    pub fn len(&self) -> usize {
        self.by_alias.len()
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_alias.is_empty()
    }

    /// Looks a phrase (tokens joined by one space) up.
    pub fn get(&self, phrase: &str) -> Option<&LegalForm> {
        self.by_alias.get(phrase)
    }

    /// Removes legal forms from both ends of `tokens` (at least one token always stays)
    /// and returns the forms found, outermost last.
    pub fn strip(&self, tokens: &mut Vec<String>) -> Vec<LegalForm> {
        let mut found = Vec::new();
        // End of the name, repeatedly (`Co., Ltd.`).
        for _ in 0..3 {
            let mut hit = None;
            for take in (1..=self.max_tokens.min(tokens.len().saturating_sub(1))).rev() {
                let tail = &tokens[tokens.len() - take..];
                if let Some(form) = self.lookup(tail) {
                    hit = Some((take, form.clone()));
                    break;
                }
            }
            if hit.is_none() && tokens.len() > 1 {
                let last = tokens[tokens.len() - 1].as_str();
                if let Some((_, display)) = END_ONLY.iter().find(|(alias, _)| *alias == last) {
                    hit = Some((
                        1,
                        LegalForm {
                            display: (*display).to_owned(),
                            generic: None,
                        },
                    ));
                }
            }
            match hit {
                Some((take, form)) => {
                    tokens.truncate(tokens.len() - take);
                    found.push(form);
                }
                None => break,
            }
        }
        // Start of the name, once or twice (`АО "…"`, `JSC …`).
        for _ in 0..2 {
            let mut hit = None;
            for take in (1..=self.max_tokens.min(tokens.len().saturating_sub(1))).rev() {
                let head = &tokens[..take];
                if let Some(form) = self.lookup(head) {
                    hit = Some((take, form.clone()));
                    break;
                }
            }
            match hit {
                Some((take, form)) => {
                    tokens.drain(..take);
                    found.push(form);
                }
                None => break,
            }
        }
        found
    }

    fn lookup(&self, phrase: &[String]) -> Option<&LegalForm> {
        if let Some(form) = self.by_alias.get(&phrase.join(" ")) {
            return Some(form);
        }
        if phrase.len() > 1 && phrase.iter().all(|t| t.chars().count() == 1) {
            return self.by_alias.get(&phrase.concat());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(name: &str, rest: &str, generic: &str) {
        let mut tokens = basic_tokens(name);
        let forms = legal_forms().strip(&mut tokens);
        assert_eq!(tokens.join(" "), rest, "{name}");
        if generic == "-" && forms.is_empty() {
            return;
        }
        let generics: Vec<&str> = forms
            .iter()
            .map(|f| f.generic.as_deref().unwrap_or("-"))
            .collect();
        assert!(generics.contains(&generic), "{name}: {generics:?}");
    }

    #[test]
    fn table_loads() {
        assert!(legal_forms().len() > 1500, "{}", legal_forms().len());
    }

    #[test]
    fn strips_both_ends_in_any_script() {
        check("МЧЖ «ТОШКЕНТ ТЕКСТИЛЬ»", "тошкент текстиль", "LLC");
        check("Toshkent Tekstil MChJ", "toshkent tekstil", "LLC");
        check("ООО Ромашка", "ромашка", "LLC");
        check("OOO Romashka", "romashka", "LLC");
        check("Uzbekneftegaz AJ", "uzbekneftegaz", "JSC");
        check("АО Узбекнефтегаз", "узбекнефтегаз", "JSC");
        check("HSBC Holdings p.l.c.", "hsbc holdings", "JSC");
        check(
            "Samsung Electronics Co., Ltd.",
            "samsung electronics",
            "LLC",
        );
        check("Fermer XK", "fermer", "SP");
        check("Toyota Motor Corp.", "toyota motor", "-");
        check("Company Store", "company store", "-");
    }

    #[test]
    fn a_legal_form_alone_stays() {
        let mut tokens = basic_tokens("LLC");
        legal_forms().strip(&mut tokens);
        assert_eq!(tokens, vec!["llc"]);
    }
}
