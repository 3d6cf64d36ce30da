//! Party-name similarity: the seam where screening's name normalisation plugs in.
//!
//! Linkage needs to know whether "«Samarqand Tekstil» MChJ" on the Uzbek export and
//! "SAMARQAND TEKSTIL" on the US import name the same firm. Screening
//! (`caravan-screen`) owns the full normaliser; mirror matching must not depend on it
//! while it is being built, so it takes any [`NameSimilarity`] and ships
//! [`TokenSimilarity`] as the default: case folding, Cyrillic → Latin transliteration,
//! punctuation removed, legal-form words dropped, then a Dice coefficient over token
//! sets with a one-edit or cut-fragment allowance per token (keying errors), or a discounted containment
//! score when one name is the other in fewer words. Names are normalised once
//! per leg ([`NameSimilarity::normalise`]) and compared many times.

/// A party-name comparer. Implementations must be symmetric:
/// `similarity(a, b) == similarity(b, a)`, with values in `[0, 1]`.
pub trait NameSimilarity: Sync {
    /// The comparison form of a raw name; computed once per leg.
    fn normalise(&self, raw: &str) -> String;
    /// Similarity of two normalised names, 0 (unrelated) to 1 (same).
    fn similarity(&self, a: &str, b: &str) -> f64;
}

/// The default comparer; see the module doc.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenSimilarity;

/// Legal-form and filler words that do not identify a firm (English, Uzbek, Russian,
/// Kazakh and Kyrgyz forms, transliterated).
const STOP_WORDS: &[&str] = &[
    "llc",
    "inc",
    "corp",
    "corporation",
    "co",
    "company",
    "ltd",
    "limited",
    "lp",
    "llp",
    "plc",
    "mchj",
    "mchjl",
    "ooo",
    "oao",
    "zao",
    "pao",
    "ao",
    "too",
    "osoo",
    "jsc",
    "xk",
    "aj",
    "the",
    "and",
    "of",
    "group",
    "holding",
    "holdings",
    "trading",
];

/// The Russian and Uzbek Cyrillic letters, and their Latin forms at the same index: a
/// plain scientific-style transliteration, enough to compare one firm's two spellings.
/// Screening's romanisation systems (`caravan-screen`) replace this when plugged in.
const CYRILLIC: &str = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяўқғҳ";
const LATIN: [&str; 37] = [
    "a", "b", "v", "g", "d", "e", "yo", "j", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s",
    "t", "u", "f", "x", "ts", "ch", "sh", "sh", "", "i", "", "e", "yu", "ya", "o", "q", "g", "x",
];

fn transliterate(c: char) -> Option<&'static str> {
    CYRILLIC.chars().position(|x| x == c).map(|i| LATIN[i])
}

/// Tokens of a normalised name, on the stack: names have a handful of words, and the
/// fuzzy tier compares millions of pairs.
struct Tokens<'a> {
    items: [&'a str; 16],
    len: usize,
}

impl<'a> Tokens<'a> {
    fn of(normalised: &'a str) -> Tokens<'a> {
        let mut t = Tokens {
            items: [""; 16],
            len: 0,
        };
        for token in normalised.split(' ').filter(|t| !t.is_empty()).take(16) {
            t.items[t.len] = token;
            t.len += 1;
        }
        t
    }

    fn as_slice(&self) -> &[&'a str] {
        &self.items[..self.len]
    }
}

/// Keying noise: one edit apart, or one token is the other with a leading or trailing
/// fragment cut off (at least 6 letters left).
fn soft_equal(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    within_one_edit(a, b)
        || (short.len() >= 6 && (long.starts_with(short) || long.ends_with(short)))
}

/// True when `a` and `b` differ by at most one inserted, deleted or replaced byte.
fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        prefix == short.len() || short[prefix + 1..] == long[prefix + 1..]
    } else {
        short[prefix..] == long[prefix + 1..]
    }
}

impl NameSimilarity for TokenSimilarity {
    fn normalise(&self, raw: &str) -> String {
        let mut folded = String::with_capacity(raw.len());
        // Most names are ASCII: fold bytes without the Unicode case tables.
        let chars: Box<dyn Iterator<Item = char>> = if raw.is_ascii() {
            Box::new(raw.bytes().map(|b| char::from(b.to_ascii_lowercase())))
        } else {
            Box::new(raw.chars().flat_map(char::to_lowercase))
        };
        for c in chars {
            if c.is_ascii() {
                if c.is_ascii_alphanumeric() {
                    folded.push(c);
                } else if c != '\'' {
                    folded.push(' ');
                }
            } else if let Some(latin) = transliterate(c) {
                folded.push_str(latin);
            } else if c.is_alphanumeric() {
                folded.push(c);
            } else if c == '\'' || c == '‘' || c == 'ʻ' || c == '’' {
                // o‘, g‘ in Uzbek Latin: the apostrophe is part of the letter.
            } else {
                folded.push(' ');
            }
        }
        let mut tokens: Vec<&str> = folded
            .split_whitespace()
            .filter(|t| !STOP_WORDS.contains(t))
            // One- and two-letter fragments ("to" of a split "to‘qimachilik") carry no
            // identity; numbers do ("Servis 2" is another firm than "Servis").
            .filter(|t| t.len() > 2 || t.bytes().any(|b| b.is_ascii_digit()))
            .collect();
        tokens.sort_unstable();
        tokens.dedup();
        tokens.join(" ")
    }

    fn similarity(&self, a: &str, b: &str) -> f64 {
        let (ta, tb) = (Tokens::of(a), Tokens::of(b));
        let (ta, tb) = (ta.as_slice(), tb.as_slice());
        if ta.is_empty() || tb.is_empty() {
            return if ta.is_empty() && tb.is_empty() && a == b {
                1.0
            } else {
                0.0
            };
        }
        // Symmetric soft Dice: a token counts as shared when the other side has it
        // exactly or within one edit (tokens of 4+ letters only).
        let matches = |xs: &[&str], ys: &[&str]| {
            xs.iter()
                .filter(|x| {
                    ys.iter()
                        .any(|y| x == &y || (x.len() >= 4 && y.len() >= 4 && soft_equal(x, y)))
                })
                .count()
        };
        let (in_a, in_b) = (matches(ta, tb), matches(tb, ta));
        let dice = (in_a + in_b) as f64 / (ta.len() + tb.len()) as f64;
        // A firm registered under two scripts ("«Lat» MChJ / ООО «Кир»") is often keyed
        // in one script only: when the shorter name (2+ tokens) is wholly contained in the
        // longer, score it as containment, discounted.
        let shorter = ta.len().min(tb.len());
        let contained = if shorter >= 2 {
            let covered = if ta.len() <= tb.len() { in_a } else { in_b };
            0.9 * covered as f64 / shorter as f64
        } else {
            0.0
        };
        dice.max(contained)
    }
}
