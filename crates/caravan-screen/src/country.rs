//! Country names as lists write them ("Iran", "Korea, North", "Russian Federation") mapped
//! to ISO 3166-1 alpha-2, so that country evidence compares codes, not spellings.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Names that differ from the ISO/CLDR short names but occur in OFAC and UN data.
const ALIASES: &[(&str, &str)] = &[
    ("iran", "IR"),
    ("iran islamic republic of", "IR"),
    ("russia", "RU"),
    ("russian federation", "RU"),
    ("syria", "SY"),
    ("syrian arab republic", "SY"),
    ("korea north", "KP"),
    ("north korea", "KP"),
    ("democratic people s republic of korea", "KP"),
    ("korea south", "KR"),
    ("south korea", "KR"),
    ("republic of korea", "KR"),
    ("burma", "MM"),
    ("myanmar", "MM"),
    ("united states", "US"),
    ("united states of america", "US"),
    ("usa", "US"),
    ("united kingdom", "GB"),
    ("united kingdom of great britain and northern ireland", "GB"),
    ("uk", "GB"),
    ("venezuela", "VE"),
    ("bolivarian republic of venezuela", "VE"),
    ("venezuela bolivarian republic of", "VE"),
    ("bolivia", "BO"),
    ("tanzania", "TZ"),
    ("united republic of tanzania", "TZ"),
    ("vietnam", "VN"),
    ("viet nam", "VN"),
    ("laos", "LA"),
    ("lao people s democratic republic", "LA"),
    ("moldova", "MD"),
    ("republic of moldova", "MD"),
    ("congo democratic republic of the", "CD"),
    ("democratic republic of the congo", "CD"),
    ("congo", "CG"),
    ("republic of the congo", "CG"),
    ("cote d ivoire", "CI"),
    ("ivory coast", "CI"),
    ("palestinian", "PS"),
    ("west bank", "PS"),
    ("gaza", "PS"),
    ("state of palestine", "PS"),
    ("turkey", "TR"),
    ("turkiye", "TR"),
    ("czech republic", "CZ"),
    ("macedonia", "MK"),
    ("the former yugoslav republic of macedonia", "MK"),
    ("libyan arab jamahiriya", "LY"),
    ("taiwan", "TW"),
    ("hong kong", "HK"),
    ("macau", "MO"),
    ("uzbekistan", "UZ"),
    ("kyrgyzstan", "KG"),
    ("brunei", "BN"),
    ("cape verde", "CV"),
    ("swaziland", "SZ"),
    ("netherlands antilles", "CW"),
    ("bosnia and herzegovina", "BA"),
    ("bosnia herzegovina", "BA"),
    ("the netherlands", "NL"),
    ("the bahamas", "BS"),
    ("the gambia", "GM"),
];

fn simplify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    out.trim_end().to_owned()
}

fn table() -> &'static HashMap<String, &'static str> {
    static TABLE: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let countries = caravan_domain::refdata::countries();
        let mut map: HashMap<String, &'static str> = countries
            .iter()
            .map(|c| (simplify(c.name), c.alpha2))
            .collect();
        for (name, code) in ALIASES {
            map.insert((*name).to_owned(), code);
        }
        map
    })
}

/// The alpha-2 code for a country as a list writes it: an assigned alpha-2 or alpha-3 code,
/// or a name. `None` when the text is not a country Caravan knows.
pub fn country_code(text: &str) -> Option<&'static str> {
    let trimmed = text.trim();
    let countries = caravan_domain::refdata::countries();
    if trimmed.len() == 2 && trimmed.bytes().all(|b| b.is_ascii_alphabetic()) {
        return countries
            .get(&trimmed.to_ascii_uppercase())
            .map(|c| c.alpha2);
    }
    if trimmed.len() == 3
        && trimmed.bytes().all(|b| b.is_ascii_uppercase())
        && let Some(country) = countries.get_alpha3(trimmed)
    {
        return Some(country.alpha2);
    }
    table().get(&simplify(trimmed)).copied()
}

#[cfg(test)]
mod tests {
    use super::country_code;

    #[test]
    fn list_spellings_map_to_alpha2() {
        assert_eq!(country_code("Iran"), Some("IR"));
        assert_eq!(country_code("Korea, North"), Some("KP"));
        assert_eq!(country_code("Democratic Republic of the Congo"), Some("CD"));
        assert_eq!(country_code("uz"), Some("UZ"));
        assert_eq!(country_code("UZB"), Some("UZ"));
        assert_eq!(country_code("Uzbekistan"), Some("UZ"));
        assert_eq!(country_code("Atlantis"), None);
        assert_eq!(country_code(""), None);
    }
}
