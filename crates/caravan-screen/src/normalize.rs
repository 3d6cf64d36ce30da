//! Name normalisation (spec §3): the same pure steps on both sides of every comparison.
//!
//! NFKC, full case folding, one apostrophe, quotes and punctuation out, look-alike letters
//! in mixed-script tokens repaired, legal forms stripped and kept, then every token
//! expanded into its Latin spellings and folded keys ([`crate::translit`]).
//!
//! Hostile input is bounded here, where it enters: names over [`MAX_NAME_BYTES`] are
//! refused, control and format characters (bidi marks, zero-width joiners) are dropped,
//! emoji and symbols become separators, and a name with nothing left is refused with
//! [`NameError::Empty`]. Nothing in this module panics on any `&str`.

use unicode_normalization::UnicodeNormalization;

use crate::error::NameError;
use crate::legal_form::{LegalForm, legal_forms};
use crate::translit::{System, fold_key, is_cyrillic, variants};

/// Longest name screened, in bytes of UTF-8. Real party names are far shorter; a 10 kB
/// "name" is an attack or a mistake, and is refused rather than truncated.
pub const MAX_NAME_BYTES: usize = 1024;

/// At most this many tokens of a name are kept (the rest cannot change a decision).
pub const MAX_TOKENS: usize = 16;

/// Words that carry little identity: they count ×0.7 (spec §6.2).
const STOP_WORDS: &[&str] = &[
    "the", "of", "and", "for", "de", "del", "la", "le", "el", "al", "bin", "ibn", "bint", "abu",
    "von", "van", "der", "du", "da", "di", "y", "i", "и", "va", "ва",
];

/// The script of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Script {
    /// Latin letters (and digits).
    Latin,
    /// Cyrillic letters.
    Cyrillic,
    /// Anything else (Arabic, Han, Greek, …): compared as written.
    Other,
}

/// One token with its spellings.
#[derive(Debug, Clone, PartialEq)]
pub struct NameToken {
    /// The normalised token in its own script.
    pub text: String,
    /// Latin (or, for other scripts, as-written) spellings; the first is the primary one.
    pub variants: Vec<String>,
    /// The system each variant came from (`None`: the token's own Latin spelling).
    pub systems: Vec<Option<System>>,
    /// `FoldKeyV1` of each variant.
    pub keys: Vec<String>,
    /// Script of the token.
    pub script: Script,
    /// A stop word (`the`, `al`, `bin`, …).
    pub stop: bool,
    /// Only digits: numbers must be equal to match.
    pub numeric: bool,
    /// Letters in the primary variant (at least 1): the token's weight.
    pub len: usize,
    /// Sketch of each variant, for the scorer's cheap rejections.
    pub variant_sketches: Vec<SpellingSketch>,
    /// Sketch of each key.
    pub key_sketches: Vec<SpellingSketch>,
}

/// What the scorer needs to know of a spelling to rule out an edit match without running
/// the edit distance: its length in characters and the set of its letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpellingSketch {
    /// Characters.
    pub chars: usize,
    /// Only ASCII (then `letters` is meaningful).
    pub ascii: bool,
    /// Bit `b % 64` for each byte `b`.
    pub letters: u64,
}

impl SpellingSketch {
    /// Sketches one spelling.
    pub fn of(spelling: &str) -> SpellingSketch {
        SpellingSketch {
            chars: spelling.chars().count(),
            ascii: spelling.is_ascii(),
            letters: letter_set(spelling.as_bytes()),
        }
    }
}

/// Bit `b % 64` for each byte `b`: two spellings' sets bound their edit distance from below.
pub fn letter_set(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |m, &c| m | (1u64 << (c & 63)))
}

/// A normalised name: tokens, legal forms found, and the fingerprint (tokens joined).
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedName {
    /// Compared tokens, legal forms removed.
    pub tokens: Vec<NameToken>,
    /// Legal forms found at either end.
    pub legal_forms: Vec<LegalForm>,
    /// The tokens joined by one space: `МЧЖ "ТОШКЕНТ ТЕКСТИЛЬ"` → `тошкент текстиль`.
    pub fingerprint: String,
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\u{02BB}'
            | '\u{02BC}'
            | '\''
            | '`'
            | '\u{2018}'
            | '\u{2019}'
            | '\u{00B4}'
            | '\u{02B9}'
            | '\u{02BA}'
    )
}

fn is_quote(c: char) -> bool {
    matches!(
        c,
        '«' | '»' | '„' | '“' | '”' | '"' | '‹' | '›' | '(' | ')' | '[' | ']' | '{' | '}'
    )
}

/// Look-alike letters: Cyrillic lower case and the Latin letter it is mistaken for.
const HOMOGLYPHS: &[(char, char)] = &[
    ('а', 'a'),
    ('в', 'b'),
    ('е', 'e'),
    ('к', 'k'),
    ('м', 'm'),
    ('н', 'h'),
    ('о', 'o'),
    ('р', 'p'),
    ('с', 'c'),
    ('т', 't'),
    ('у', 'y'),
    ('х', 'x'),
    ('і', 'i'),
    ('ј', 'j'),
    ('ѕ', 's'),
];

/// Full case folding of one char (Unicode `CaseFolding.txt` status F for the letters
/// names use: `ß` → `ss`, final sigma → sigma), else lower case.
fn case_fold(c: char, out: &mut String) {
    match c {
        'ß' | 'ẞ' => out.push_str("ss"),
        'ς' => out.push('σ'),
        'ŉ' => out.push_str("ʼn"),
        _ => out.extend(c.to_lowercase()),
    }
}

/// Steps 1–5 of spec §3: the plain token list of a text (no legal forms, no variants).
/// Also used for the legal-form table, so both sides of that lookup agree.
pub fn basic_tokens(raw: &str) -> Vec<String> {
    let mut folded = String::with_capacity(raw.len());
    let composed: String = raw.nfkc().collect();
    for c in collapse_dotted_abbreviations(&composed).chars() {
        if is_apostrophe(c) {
            folded.push('\'');
        } else if is_quote(c) {
            folded.push(' ');
        } else if c == '&' {
            folded.push_str(" and ");
        } else if c.is_alphanumeric() || c == '-' || c == '\'' {
            case_fold(c, &mut folded);
        } else if c.is_control() || c.is_whitespace() {
            folded.push(' ');
        } else if is_format(c) {
            // Bidi marks, zero-width joiners and soft hyphens vanish inside words.
        } else if unicode_normalization::char::is_combining_mark(c) {
            folded.push(c);
        } else {
            folded.push(' ');
        }
    }
    let mut tokens = Vec::new();
    for word in folded.split(' ') {
        // Hyphenated parts are compared as tokens of their own (`Myong-sik`); an
        // apostrophe stays inside a word (`o'tkir`) and is dropped at its edges.
        for part in word.split('-') {
            let part = part.trim_matches('\'');
            if part.is_empty() || !part.chars().any(char::is_alphanumeric) {
                continue;
            }
            let token = repair_mixed_script(part);
            // One spelling for the Arabic patronymic particle.
            let token = match token.as_str() {
                "ibn" | "ben" | "bn" => "bin".to_owned(),
                _ => token,
            };
            tokens.push(token);
            if tokens.len() >= MAX_TOKENS * 2 {
                return tokens;
            }
        }
    }
    tokens
}

/// `A.B.C.`, `p.l.c.`, `S.A.` written as one word become `ABC`, `plc`, `SA`: the dots
/// separate letters of one abbreviation, not words.
fn collapse_dotted_abbreviations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let trimmed = word.trim_end_matches([',', ';']);
        let parts: Vec<&str> = trimmed.trim_end_matches('.').split('.').collect();
        let is_abbreviation = parts.len() >= 2
            && trimmed.contains('.')
            && parts
                .iter()
                .all(|p| p.chars().count() == 1 && p.chars().all(char::is_alphabetic));
        if is_abbreviation {
            out.push_str(&parts.concat());
            out.push_str(&word[trimmed.len()..]);
        } else {
            out.push_str(word);
        }
    }
    out
}

/// Unicode general category Cf (format), for the characters that occur in pasted names.
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FE00}'..='\u{FE0F}'
    )
}

/// `OOO` typed with a Cyrillic `О`: letters of the minority script that have a look-alike
/// in the majority script are replaced by it.
fn repair_mixed_script(token: &str) -> String {
    let n_cyrillic = token.chars().filter(|&c| is_cyrillic(c)).count();
    let n_latin = token.chars().filter(|c| c.is_ascii_alphabetic()).count();
    if n_cyrillic == 0 || n_latin == 0 {
        return token.to_owned();
    }
    let to_latin = n_latin >= n_cyrillic;
    token
        .chars()
        .map(|c| {
            if to_latin {
                HOMOGLYPHS
                    .iter()
                    .find(|(cyr, _)| *cyr == c)
                    .map_or(c, |(_, lat)| *lat)
            } else {
                HOMOGLYPHS
                    .iter()
                    .find(|(_, lat)| *lat == c)
                    .map_or(c, |(cyr, _)| *cyr)
            }
        })
        .collect()
}

fn script_of(token: &str) -> Script {
    if token.chars().any(is_cyrillic) {
        Script::Cyrillic
    } else if token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '\'' || fold_is_latin(c))
        && token
            .chars()
            .any(|c| c.is_ascii_alphanumeric() || (fold_is_latin(c) && c.is_alphabetic()))
    {
        Script::Latin
    } else {
        Script::Other
    }
}

fn fold_is_latin(c: char) -> bool {
    ('\u{00C0}'..='\u{024F}').contains(&c)
        || ('\u{1E00}'..='\u{1EFF}').contains(&c)
        || unicode_normalization::char::is_combining_mark(c)
}

/// Builds the token with its variants and keys.
pub fn expand_token(text: String) -> NameToken {
    let script = script_of(&text);
    let (mut variant_texts, mut systems): (Vec<String>, Vec<Option<System>>) = match script {
        Script::Latin | Script::Cyrillic => variants(&text).into_iter().unzip(),
        Script::Other => (vec![text.clone()], vec![None]),
    };
    if variant_texts.is_empty() {
        // Only marks and apostrophes: compare as written rather than not at all.
        variant_texts.push(text.clone());
        systems.push(None);
    }
    let keys: Vec<String> = variant_texts
        .iter()
        .map(|v| if v.is_ascii() { fold_key(v) } else { v.clone() })
        .collect();
    NameToken {
        variant_sketches: variant_texts
            .iter()
            .map(|v| SpellingSketch::of(v))
            .collect(),
        key_sketches: keys.iter().map(|k| SpellingSketch::of(k)).collect(),
        len: variant_texts[0].chars().count().max(1),
        stop: STOP_WORDS.contains(&text.as_str()),
        numeric: text.chars().all(|c| c.is_ascii_digit()),
        variants: variant_texts,
        systems,
        keys,
        script,
        text,
    }
}

/// Normalises a name. `strip_legal_forms` is false for persons, whose names never carry a
/// company form and may contain words that look like one.
pub fn normalize_name(raw: &str, strip_legal_forms: bool) -> Result<NormalizedName, NameError> {
    if raw.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong(raw.len()));
    }
    let mut tokens = basic_tokens(raw);
    tokens.truncate(MAX_TOKENS);
    let found = if strip_legal_forms {
        legal_forms().strip(&mut tokens)
    } else {
        Vec::new()
    };
    if tokens.is_empty() {
        return Err(NameError::Empty);
    }
    let fingerprint = tokens.join(" ");
    Ok(NormalizedName {
        tokens: tokens.into_iter().map(expand_token).collect(),
        legal_forms: found,
        fingerprint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(raw: &str, fingerprint: &str) {
        assert_eq!(
            normalize_name(raw, true).unwrap().fingerprint,
            fingerprint,
            "{raw}"
        );
    }

    #[test]
    fn steps_of_the_spec() {
        check("ＡＢＣ Ｔｒａｄｉｎｇ", "abc trading");
        check("Straße", "strasse");
        check("Oʻtkir Gʼulomov", "o'tkir g'ulomov");
        check("O`tkir G’ulomov", "o'tkir g'ulomov");
        check("«Toshkent»  \"Tekstil\"", "toshkent tekstil");
        check("МЧЖ \"ТОШКЕНТ ТЕКСТИЛЬ\"", "тошкент текстиль");
        check("Toshkent Tekstil MChJ", "toshkent tekstil");
        check("Kim Myong-sik", "kim myong sik");
        check("HUSSEIN, Saddam", "hussein saddam");
        check("Procter & Gamble", "procter and gamble");
        check("A.B.C. Company", "abc");
        check("HSBC p.l.c.", "hsbc");
        check("Usama ibn Laden", "usama bin laden");
    }

    #[test]
    fn mixed_script_is_repaired_toward_the_majority() {
        // `OOO` with a Cyrillic О in the middle, then a Latin word with one Cyrillic а.
        let name = normalize_name("O\u{41e}O Tashkent Tr\u{430}ding", true).unwrap();
        assert_eq!(name.fingerprint, "tashkent trading");
        assert_eq!(name.legal_forms[0].generic.as_deref(), Some("LLC"));
    }

    #[test]
    fn hostile_input_is_handled_or_refused() {
        assert_eq!(normalize_name("", true), Err(NameError::Empty));
        assert_eq!(normalize_name("😀🚢 !!", true), Err(NameError::Empty));
        assert_eq!(
            normalize_name("\u{0}\u{7}\u{1b}", true),
            Err(NameError::Empty)
        );
        let long = "a".repeat(10 * 1024);
        assert_eq!(normalize_name(&long, true), Err(NameError::TooLong(10240)));
        let rtl = normalize_name("\u{202E}محمد\u{202C} علي", true).unwrap();
        assert_eq!(rtl.tokens.len(), 2);
        assert_eq!(rtl.tokens[0].script, Script::Other);
        let emoji = normalize_name("Acme😀Trading\u{200D}", true).unwrap();
        assert_eq!(emoji.fingerprint, "acme trading");
        let many = "xy ".repeat(300);
        assert_eq!(
            normalize_name(&many, true).unwrap().tokens.len(),
            MAX_TOKENS
        );
    }

    #[test]
    fn cyrillic_tokens_get_every_system() {
        let name = normalize_name("Хўжаев", false).unwrap();
        let variants = &name.tokens[0].variants;
        for expected in ["xojayev", "khuzhaev", "khojaev"] {
            assert!(
                variants.iter().any(|v| v == expected),
                "{expected} in {variants:?}"
            );
        }
    }
}
