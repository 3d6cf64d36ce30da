//! The agreement's exchange annex: which automated flows the agreement covers and their limits
//! — hit/no-hit checks (assistance spec §12) and dataset profiles for bulk exchange (§5).
//!
//! Why a file beside the agreement and not inside it: §5 calls a dataset profile an
//! "agreement annex, versioned", and annexes change on their own cadence (a new dataset, a
//! new rate limit) without a new agreement version. A flow the annex does not list is outside
//! the agreement: a query type missing from `[hitnohit] query_types` is refused with
//! `capability_not_in_agreement`, and so is a dataset without a profile.

use serde::Deserialize;

use crate::agreement::Purpose;
use crate::hitnohit::QueryType;
use crate::retention::RetentionClass;

/// The compiled-in annex of the US–UZ CMAA.
pub const US_UZ_CMAA_2024_ANNEX: &str = include_str!("../agreements/us-uz-cmaa-2024.annex.toml");

/// §12 limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitNoHitRules {
    pub query_types: Vec<QueryType>,
    pub per_official_per_day: u32,
}

/// A §5 dataset profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetProfile {
    pub id: String,
    pub version: u32,
    /// The administration that provides the rows (agreement party code).
    pub provider: String,
    /// `import` or `export` declarations.
    pub direction: String,
    /// Field groups sent (see [`FIELD_GROUPS`]); anything else is dropped before sending.
    pub fields: Vec<String>,
    /// Field groups replaced by keyed pseudonyms.
    pub pseudonymise: Vec<String>,
    /// HS granularity sent (2, 4, 6, 8 or 10 digits).
    pub hs_digits: u8,
    pub frequency_days: u32,
    pub legal_article: String,
    pub permitted_uses: Vec<Purpose>,
    pub retention_class: RetentionClass,
}

/// The field groups a profile can name.
pub const FIELD_GROUPS: &[&str] = &[
    "header",
    "parties.ids",
    "parties.names",
    "parties.addresses",
    "parties.country",
    "transport",
    "items",
];

/// The annex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annex {
    pub agreement_id: String,
    pub version: u32,
    pub hitnohit: Option<HitNoHitRules>,
    pub datasets: Vec<DatasetProfile>,
}

/// Why an annex file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AnnexError {
    pub code: &'static str,
    pub message: String,
}

impl AnnexError {
    fn new(code: &'static str, message: impl Into<String>) -> AnnexError {
        AnnexError {
            code,
            message: message.into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnnex {
    agreement_id: String,
    version: u32,
    hitnohit: Option<RawHitNoHit>,
    #[serde(default)]
    datasets: Vec<RawDataset>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHitNoHit {
    query_types: Vec<String>,
    per_official_per_day: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDataset {
    id: String,
    version: u32,
    provider: String,
    direction: String,
    fields: Vec<String>,
    #[serde(default)]
    pseudonymise: Vec<String>,
    hs_digits: u8,
    frequency_days: u32,
    legal_article: String,
    permitted_uses: Vec<String>,
    retention_class: String,
}

impl Annex {
    /// Parses and checks an annex file; every value is checked, the first problem refused.
    pub fn from_toml(text: &str) -> Result<Annex, AnnexError> {
        let raw: RawAnnex = toml::from_str(text)
            .map_err(|e| AnnexError::new("annex_syntax", e.message().to_owned()))?;
        if raw.agreement_id.trim().is_empty() || raw.version == 0 {
            return Err(AnnexError::new(
                "annex_incomplete",
                "agreement_id and a version ≥ 1 are required",
            ));
        }
        let hitnohit = match raw.hitnohit {
            None => None,
            Some(h) => {
                let mut types = Vec::new();
                for t in &h.query_types {
                    types.push(QueryType::parse(t).ok_or_else(|| {
                        AnnexError::new("annex_query_type", format!("unknown query type {t:?}"))
                    })?);
                }
                if h.per_official_per_day == 0 {
                    return Err(AnnexError::new(
                        "annex_rate_limit",
                        "per_official_per_day must be at least 1",
                    ));
                }
                Some(HitNoHitRules {
                    query_types: types,
                    per_official_per_day: h.per_official_per_day,
                })
            }
        };
        let mut datasets: Vec<DatasetProfile> = Vec::new();
        for d in raw.datasets {
            if datasets.iter().any(|x| x.id == d.id) {
                return Err(AnnexError::new(
                    "annex_dataset_duplicate",
                    format!("dataset {} is defined twice", d.id),
                ));
            }
            if d.id.trim().is_empty() || d.version == 0 || d.frequency_days == 0 {
                return Err(AnnexError::new(
                    "annex_dataset_incomplete",
                    format!("dataset {:?} needs an id, a version and a frequency", d.id),
                ));
            }
            if !matches!(d.direction.as_str(), "import" | "export") {
                return Err(AnnexError::new(
                    "annex_dataset_direction",
                    format!("dataset {}: direction must be import or export", d.id),
                ));
            }
            for f in d.fields.iter().chain(&d.pseudonymise) {
                if !FIELD_GROUPS.contains(&f.as_str()) {
                    return Err(AnnexError::new(
                        "annex_dataset_field",
                        format!("dataset {}: unknown field group {f:?}", d.id),
                    ));
                }
            }
            if !matches!(d.hs_digits, 2 | 4 | 6 | 8 | 10) {
                return Err(AnnexError::new(
                    "annex_dataset_hs_digits",
                    format!("dataset {}: hs_digits must be 2, 4, 6, 8 or 10", d.id),
                ));
            }
            let mut uses = Vec::new();
            for u in &d.permitted_uses {
                uses.push(Purpose::parse(u).ok_or_else(|| {
                    AnnexError::new(
                        "annex_dataset_use",
                        format!("dataset {}: unknown purpose {u:?}", d.id),
                    )
                })?);
            }
            if uses.is_empty() {
                uses.push(Purpose::Intel);
            }
            let retention_class = RetentionClass::parse(&d.retention_class).ok_or_else(|| {
                AnnexError::new(
                    "annex_dataset_retention",
                    format!(
                        "dataset {}: unknown retention class {:?}",
                        d.id, d.retention_class
                    ),
                )
            })?;
            datasets.push(DatasetProfile {
                id: d.id,
                version: d.version,
                provider: d.provider,
                direction: d.direction,
                fields: d.fields,
                pseudonymise: d.pseudonymise,
                hs_digits: d.hs_digits,
                frequency_days: d.frequency_days,
                legal_article: d.legal_article,
                permitted_uses: uses,
                retention_class,
            });
        }
        Ok(Annex {
            agreement_id: raw.agreement_id,
            version: raw.version,
            hitnohit,
            datasets,
        })
    }

    /// The compiled-in annex of an agreement, if Caravan ships one.
    pub fn shipped(agreement_id: &str) -> Option<Annex> {
        let annex = Annex::from_toml(US_UZ_CMAA_2024_ANNEX).expect("the shipped annex parses");
        (annex.agreement_id == agreement_id).then_some(annex)
    }

    /// §12: the rules for a query type, or `capability_not_in_agreement`.
    pub fn hitnohit_for(&self, kind: QueryType) -> Result<&HitNoHitRules, AnnexError> {
        match &self.hitnohit {
            Some(h) if h.query_types.contains(&kind) => Ok(h),
            _ => Err(AnnexError::new(
                "capability_not_in_agreement",
                format!(
                    "hit/no-hit queries of type {kind} are not covered by agreement {}",
                    self.agreement_id
                ),
            )),
        }
    }

    /// §5: a dataset's profile, or `capability_not_in_agreement`.
    pub fn dataset(&self, id: &str) -> Result<&DatasetProfile, AnnexError> {
        self.datasets.iter().find(|d| d.id == id).ok_or_else(|| {
            AnnexError::new(
                "capability_not_in_agreement",
                format!(
                    "dataset {id} has no profile in the annex of agreement {}",
                    self.agreement_id
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_annex_parses_and_leaves_person_queries_out() {
        let a = Annex::shipped("us-uz-cmaa-2024").expect("annex");
        assert!(a.hitnohit_for(QueryType::Conveyance).is_ok());
        assert_eq!(
            a.hitnohit_for(QueryType::Person).unwrap_err().code,
            "capability_not_in_agreement"
        );
        assert_eq!(a.dataset("uz-imports-v1").unwrap().hs_digits, 6);
        assert_eq!(
            a.dataset("nope").unwrap_err().code,
            "capability_not_in_agreement"
        );
        assert!(Annex::shipped("other").is_none());
    }

    #[test]
    fn bad_values_are_refused_with_codes() {
        let base = US_UZ_CMAA_2024_ANNEX;
        for (from, to, code) in [
            (
                "per_official_per_day = 50",
                "per_official_per_day = 0",
                "annex_rate_limit",
            ),
            ("\"company\", ", "\"ship\", ", "annex_query_type"),
            ("hs_digits = 6", "hs_digits = 5", "annex_dataset_hs_digits"),
            (
                "direction = \"import\"",
                "direction = \"both\"",
                "annex_dataset_direction",
            ),
            (
                "[\"parties.names\"]",
                "[\"parties.eyes\"]",
                "annex_dataset_field",
            ),
            (
                "id = \"us-exports-v1\"",
                "id = \"uz-imports-v1\"",
                "annex_dataset_duplicate",
            ),
            (
                "version = 1\n\n#",
                "version = 1\nbogus = 1\n\n#",
                "annex_syntax",
            ),
        ] {
            let text = base.replacen(from, to, 1);
            assert_ne!(text, base, "{from}");
            assert_eq!(Annex::from_toml(&text).unwrap_err().code, code, "{from}");
        }
    }
}
