//! Cyrillic → Latin under each romanisation system of spec §4 (Uzbek official 1995, ICAO
//! 9303, BGN/PCGN 1979 Uzbek and 1947 Russian, US ODNI ICS 630-01, GOST 7.79-2000 A and
//! B), the Latin-side expansion, and the folded key `FoldKeyV1` (§4.4).
//!
//! Why several systems: one Uzbek person is `Хўжаев`, `Xoʻjayev`, `Khodjaev`, `Khuzhaev`
//! and `Khojaev` on different documents, and no single transliteration reaches them all.
//! The tables are Caravan's own, written from the standards; context rules (word start,
//! after a vowel) are code. Variants are lower-case ASCII with apostrophes dropped, because
//! that is what is compared; the display spelling stays with the token.

/// A romanisation system, for explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum System {
    /// Uzbek Latin alphabet, 1995.
    UzbekLatin,
    /// ICAO Doc 9303 (passports), via the Russian base letter for Uzbek letters.
    Icao9303,
    /// BGN/PCGN 1979 for Uzbek.
    BgnPcgnUzbek,
    /// US ODNI ICS 630-01 for Uzbek personal names.
    Odni,
    /// BGN/PCGN 1947 for Russian.
    BgnPcgnRussian,
    /// GOST 7.79-2000 system B.
    GostB,
    /// GOST 7.79-2000 system A (ISO 9), pre-folded to digraphs.
    GostA,
}

impl System {
    /// Short name for explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            System::UzbekLatin => "Uzbek Latin",
            System::Icao9303 => "ICAO 9303",
            System::BgnPcgnUzbek => "BGN/PCGN uz",
            System::Odni => "ODNI",
            System::BgnPcgnRussian => "BGN/PCGN ru",
            System::GostB => "GOST B",
            System::GostA => "GOST A",
        }
    }
}

const UZBEK_SYSTEMS: [System; 4] = [
    System::UzbekLatin,
    System::Icao9303,
    System::BgnPcgnUzbek,
    System::Odni,
];
const RUSSIAN_SYSTEMS: [System; 4] = [
    System::Icao9303,
    System::BgnPcgnRussian,
    System::GostB,
    System::GostA,
];

fn is_cyrillic_vowel(c: char) -> bool {
    matches!(
        c,
        'а' | 'е' | 'ё' | 'и' | 'о' | 'у' | 'ў' | 'ы' | 'э' | 'ю' | 'я'
    )
}

/// True for letters of the Cyrillic block (U+0400–U+04FF).
pub fn is_cyrillic(c: char) -> bool {
    ('\u{0400}'..='\u{04ff}').contains(&c)
}

/// One Cyrillic letter in context under `system`; `None` when the letter is not Cyrillic.
fn letter(system: System, c: char, prev: Option<char>, next: Option<char>) -> Option<&'static str> {
    // `ye` at the start of a word and after a vowel, ъ, й or ь (spec §4.2 note 1).
    let ye_context = prev.is_none_or(|p| is_cyrillic_vowel(p) || matches!(p, 'ъ' | 'й' | 'ь'));
    let common = match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'д' => "d",
        'з' => "z",
        'и' => "i",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ф' => "f",
        'ч' => "ch",
        'ш' => "sh",
        'э' => "e",
        'і' => "i",
        'ї' => "yi",
        'є' => "ye",
        'ґ' => "g",
        _ => "",
    };
    if !common.is_empty() {
        return Some(common);
    }
    use System::*;
    let out = match (system, c) {
        (UzbekLatin, 'ғ') => "g",
        (UzbekLatin, 'е') | (BgnPcgnUzbek, 'е') | (BgnPcgnRussian, 'е') => {
            if ye_context {
                "ye"
            } else {
                "e"
            }
        }
        (_, 'е') => "e",
        (Icao9303, 'ё') | (GostA, 'ё') => "e",
        (BgnPcgnRussian, 'ё') => {
            if ye_context {
                "yo"
            } else {
                "e"
            }
        }
        (_, 'ё') => "yo",
        (UzbekLatin, 'ж') | (BgnPcgnUzbek, 'ж') | (Odni, 'ж') => "j",
        (_, 'ж') => "zh",
        (UzbekLatin, 'й') | (BgnPcgnUzbek, 'й') | (Odni, 'й') | (BgnPcgnRussian, 'й') => "y",
        (Icao9303, 'й') => "i",
        (_, 'й') => "j",
        (Icao9303, 'қ') => "k",
        (_, 'қ') => "q",
        (Icao9303, 'ғ') => "g",
        (_, 'ғ') => "gh",
        (UzbekLatin, 'ў') => "o",
        (Odni, 'ў') => "o",
        (_, 'ў') => "u",
        (UzbekLatin, 'х') | (GostB, 'х') => "x",
        (GostA, 'х') => "h",
        (_, 'х') => "kh",
        (Icao9303, 'ҳ') => "kh",
        (_, 'ҳ') => "h",
        (UzbekLatin, 'ц') => {
            if prev.is_some_and(is_cyrillic_vowel) {
                "ts"
            } else {
                "s"
            }
        }
        (GostB, 'ц') => {
            if next.is_some_and(|n| matches!(n, 'е' | 'и' | 'ы' | 'й')) {
                "c"
            } else {
                "cz"
            }
        }
        (GostA, 'ц') => "c",
        (_, 'ц') => "ts",
        (Icao9303, 'ъ') => "ie",
        (_, 'ъ') => "",
        (_, 'ь') => "",
        (Icao9303, 'ю') => "iu",
        (_, 'ю') => "yu",
        (Icao9303, 'я') => "ia",
        (_, 'я') => "ya",
        (UzbekLatin, 'щ') => "sh",
        (GostB, 'щ') => "shh",
        (_, 'щ') => "shch",
        (UzbekLatin, 'ы') => "i",
        (_, 'ы') => "y",
        _ => return None,
    };
    Some(out)
}

/// Transliterates one lower-case token under one system; non-Cyrillic chars pass through.
pub fn transliterate(token: &str, system: System) -> String {
    let chars: Vec<char> = token.chars().collect();
    let mut out = String::with_capacity(token.len() * 2);
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        // Uzbek `ьо` → `yo` (spec §4.2 table, Ь row).
        if c == 'ь' && next == Some('о') && system == System::UzbekLatin {
            out.push('y');
            continue;
        }
        match letter(system, c, prev, next) {
            Some(latin) => out.push_str(latin),
            None => out.push(c),
        }
    }
    out
}

/// The systems that apply to a Cyrillic token: Uzbek letters (ў қ ғ ҳ) select the Uzbek
/// systems, Russian-only letters (щ ы) the Russian ones, anything else both.
pub fn systems_for(token: &str) -> Vec<System> {
    let uzbek = token.chars().any(|c| matches!(c, 'ў' | 'қ' | 'ғ' | 'ҳ'));
    let russian = token.chars().any(|c| matches!(c, 'щ' | 'ы'));
    let mut systems = Vec::with_capacity(7);
    if uzbek || !russian {
        systems.extend(UZBEK_SYSTEMS);
    }
    if russian || !uzbek {
        for system in RUSSIAN_SYSTEMS {
            if !systems.contains(&system) {
                systems.push(system);
            }
        }
    }
    systems
}

/// Pre-folds ISO 9 and Uzbek reform letters to digraphs before diacritics are stripped
/// (stripping first would turn `ž` into `z` for good), then strips remaining marks.
pub fn fold_latin(token: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut pre = String::with_capacity(token.len() + 4);
    for c in token.chars() {
        match c {
            'ž' => pre.push_str("zh"),
            'č' => pre.push_str("ch"),
            'š' => pre.push_str("sh"),
            'ŝ' => pre.push_str("shch"),
            'û' => pre.push_str("yu"),
            'â' => pre.push_str("ya"),
            'è' => pre.push('e'),
            'ō' => pre.push_str("o'"),
            'ḡ' | 'ğ' | 'ġ' => pre.push_str("g'"),
            'ŭ' => pre.push('u'),
            'ß' => pre.push_str("ss"),
            'æ' => pre.push_str("ae"),
            'œ' => pre.push_str("oe"),
            'ø' => pre.push('o'),
            'đ' | 'ð' => pre.push('d'),
            'ł' => pre.push('l'),
            'ı' => pre.push('i'),
            'þ' => pre.push_str("th"),
            _ => pre.push(c),
        }
    }
    pre.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect()
}

/// The Latin spellings of one normalised (lower-case) token: one per system for Cyrillic,
/// the folded spelling plus Latin-side expansions (`oʻ` → `o`/`u`, Uzbek `x` → `kh`) for
/// Latin. Apostrophes are dropped. Deduplicated, first variant first.
pub fn variants(token: &str) -> Vec<(String, Option<System>)> {
    let mut out: Vec<(String, Option<System>)> = Vec::new();
    let mut push = |text: String, system: Option<System>| {
        let text: String = text.chars().filter(|&c| c != '\'').collect();
        if !text.is_empty() && !out.iter().any(|(t, _)| *t == text) {
            out.push((text, system));
        }
    };
    if token.chars().any(is_cyrillic) {
        for system in systems_for(token) {
            let latin = transliterate(token, system);
            if system == System::BgnPcgnUzbek && latin.contains('j') {
                // Machine-readable renderings of the 1979 table give `zh` for `ж`.
                push(
                    transliterate(token, System::Icao9303).replace("ie", ""),
                    Some(system),
                );
            }
            push(latin, Some(system));
        }
        return out;
    }
    let folded = fold_latin(token);
    if token.contains(['ç', 'ş', 'ș']) {
        // Uzbek reform letters; elsewhere (François, Şahin) the plain fold below applies.
        push(
            fold_latin(&token.replace('ç', "ch").replace(['ş', 'ș'], "sh")),
            None,
        );
    }
    if folded.contains("o'") {
        push(folded.replace("o'", "u"), None);
    }
    push(folded.clone(), None);
    if folded.contains('x') && folded.chars().all(|c| c.is_ascii_alphabetic() || c == '\'') {
        push(folded.replace('x', "kh"), None);
    }
    out
}

fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u')
}

/// `FoldKeyV1` (spec §4.4): a deliberately coarse spelling that makes the romanisations
/// collide. It feeds retrieval and scoring and never proves identity.
pub fn fold_key(variant: &str) -> String {
    let bytes: Vec<u8> = variant
        .bytes()
        .filter(|&b| b != b'\'' && b != b'-')
        .collect();
    // Step 2: consonant groups, longest first, left to right.
    const GROUPS: &[(&[u8], &[u8])] = &[
        (b"shch", b"sh"),
        (b"shh", b"sh"),
        (b"sch", b"sh"),
        (b"tch", b"ch"),
        (b"dzh", b"j"),
        (b"dj", b"j"),
        (b"zh", b"j"),
        (b"kh", b"h"),
        (b"gh", b"g"),
        (b"ts", b"c"),
        (b"tc", b"c"),
        (b"cz", b"c"),
        (b"ph", b"f"),
        (b"x", b"h"),
        (b"q", b"k"),
        (b"w", b"v"),
    ];
    let mut step2: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    'outer: while i < bytes.len() {
        for (from, to) in GROUPS {
            if bytes[i..].starts_with(from) {
                step2.extend_from_slice(to);
                i += from.len();
                continue 'outer;
            }
        }
        step2.push(bytes[i]);
        i += 1;
    }
    // Step 3: glides.
    let mut step3: Vec<u8> = Vec::with_capacity(step2.len());
    let mut i = 0;
    while i < step2.len() {
        let rest = &step2[i..];
        if rest.starts_with(b"iu") {
            step3.extend_from_slice(b"yu");
            i += 2;
        } else if rest.starts_with(b"ia") {
            step3.extend_from_slice(b"ya");
            i += 2;
        } else if rest.starts_with(b"ye") {
            step3.push(b'e');
            i += 2;
        } else {
            step3.push(step2[i]);
            i += 1;
        }
    }
    let mut step4: Vec<u8> = Vec::with_capacity(step3.len());
    let n = step3.len();
    let mut i = 0;
    while i < n {
        let c = step3[i];
        let next = step3.get(i + 1).copied();
        if c == b'i' && next == Some(b'y') && step3.get(i + 2).is_some_and(|&v| is_vowel(v)) {
            // `iy` before a vowel → `y`.
            step4.push(b'y');
            i += 2;
            continue;
        }
        if c == b'y'
            && i > 0
            && is_vowel(step3[i - 1])
            && next.is_none_or(|n| !is_vowel(n) && n != b'y')
        {
            step4.push(b'i');
            i += 1;
            continue;
        }
        step4.push(c);
        i += 1;
    }
    // Final `iy`, `ii`, `yi` or `y` → `i`.
    for tail in [&b"iy"[..], b"ii", b"yi"] {
        if step4.len() > 2 && step4.ends_with(tail) {
            step4.truncate(step4.len() - 2);
            step4.push(b'i');
            break;
        }
    }
    if step4.len() > 1 && step4.last() == Some(&b'y') {
        step4.pop();
        step4.push(b'i');
    }
    // Step 4: runs of one letter collapse.
    step4.dedup();
    String::from_utf8(step4).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_key(spellings: &[&str], key: &str) {
        for spelling in spellings {
            let token = crate::normalize::basic_tokens(spelling).remove(0);
            let folded = fold_latin(&token).replace('\'', "");
            assert_eq!(fold_key(&folded), key, "{spelling}");
        }
    }

    #[test]
    fn fold_key_examples_of_the_spec() {
        check_key(
            &["Khaydarov", "Xaydarov", "Haydarov", "Khaidarov"],
            "haidarov",
        );
        check_key(&["Khodjaev", "Khodzhaev", "Xoʻjayev", "Khozhaev"], "hojaev");
        check_key(&["Gʻulomov", "Ghulomov", "Gulomov"], "gulomov");
        check_key(&["Xudoyberdiyev", "Khudoiberdiev"], "hudoiberdiev");
        check_key(&["Yusupov", "Iusupov"], "yusupov");
        check_key(&["Gulyamov", "Guliamov"], "gulyamov");
        check_key(&["Dmitriy", "Dmitrii", "Dmitry"], "dmitri");
        check_key(&["Tsoi", "Tcoi", "Tsoy"], "coi");
        check_key(&["Farkhod", "Farxod"], "farhod");
        check_key(&["Mariia", "Mariya", "Maria"], "marya");
        check_key(&["Qodirov", "Kodirov"], "kodirov");
    }

    #[track_caller]
    fn check_system(cyrillic: &str, system: System, latin: &str) {
        assert_eq!(
            transliterate(cyrillic, system),
            latin,
            "{cyrillic} {system:?}"
        );
    }

    #[test]
    fn uzbek_systems() {
        check_system("хўжаев", System::UzbekLatin, "xojayev");
        check_system("хўжаев", System::Icao9303, "khuzhaev");
        check_system("хўжаев", System::Odni, "khojaev");
        check_system("ёқубов", System::UzbekLatin, "yoqubov");
        check_system("ғуломов", System::BgnPcgnUzbek, "ghulomov");
        check_system("шуҳрат", System::UzbekLatin, "shuhrat");
        check_system("цех", System::UzbekLatin, "sex");
        check_system("ецех", System::UzbekLatin, "yetsex");
    }

    #[test]
    fn russian_systems() {
        check_system("щукин", System::Icao9303, "shchukin");
        check_system("щукин", System::GostB, "shhukin");
        check_system("цой", System::GostB, "czoj");
        check_system("юрий", System::Icao9303, "iurii");
        check_system("юрий", System::BgnPcgnRussian, "yuriy");
        check_system("ельцин", System::BgnPcgnRussian, "yeltsin");
        check_system("ельцин", System::Icao9303, "eltsin");
    }

    #[test]
    fn uzbek_variants_reach_every_spelling_by_key() {
        let keys: Vec<String> = variants("хўжаев")
            .iter()
            .map(|(v, _)| fold_key(v))
            .collect();
        for spelling in ["Khodjaev", "Xoʻjayev", "Khuzhaev", "Khojaev"] {
            let token = crate::normalize::basic_tokens(spelling).remove(0);
            let folded = fold_latin(&token).replace('\'', "");
            let key = fold_key(&folded);
            let latin_keys: Vec<String> =
                variants(&token).iter().map(|(v, _)| fold_key(v)).collect();
            assert!(
                keys.iter().any(|k| *k == key || latin_keys.contains(k)),
                "{spelling}: {key} not in {keys:?}"
            );
        }
    }

    #[test]
    fn iso9_prefold_before_stripping() {
        assert_eq!(fold_latin("kušnarʹov"), "kushnarʹov");
        assert_eq!(fold_latin("françois"), "francois");
        assert_eq!(fold_latin("ōzbek"), "o'zbek");
        assert!(variants("çorvoq").iter().any(|(v, _)| v == "chorvoq"));
    }
}
