//! Pattern detectors over links, discrepancies and unmatched legs
//! (`spec/analytics.md`: discrepancy scoring, unmatched legs, CHPL re-export flags,
//! shifts into lower-duty siblings), and the two shapes findings leave the engine in:
//! targeting features and spontaneous-information content.
//!
//! Scores are in `[0, 1]` and comparable across kinds, so one ranking can spend an alert
//! budget: near-certain traces (an origin that changed, a CHPL item imported under a
//! non-CHPL code) score around 0.9; statistical ones (a value gap) scale with their
//! robust z-score; an orphan export scores by how surprising it is in its direction
//! (the direction's match rate), because a UZ→US export without a US import is the
//! normal mirror gap of spec 7.1 and not a risk on its own. Findings are review flags,
//! never legal determinations or customs values.

use crate::leg::LegRef;

/// What a finding says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    /// Import value after CIF/FOB adjustment far below the export value for its cell.
    Undervaluation,
    /// Import value far above the export value for its cell.
    Overvaluation,
    /// Export leg with no import leg after the window and grace period.
    PhantomExport,
    /// Import leg with no export leg.
    PhantomImport,
    /// Origin on the import leg differs from the export leg.
    OriginMisdeclaration,
    /// The import leg routes through a country the export leg does not.
    Transshipment,
    /// HS6 differs between the legs (into a lower-duty sibling when the tariff says so).
    ClassificationShift,
    /// CHPL goods unmatched, re-classified, delivered to another consignee or
    /// re-exported to a diversion country.
    ChplDiversion,
    /// One export split into import declarations each below the threshold.
    SplitBelowThreshold,
    /// Net mass on the import side far below the export side.
    QuantityShortfall,
    /// Consignee/importer differs between the legs.
    PartyChange,
    /// The same exporter–importer pair has misdeclaration findings on several links.
    RepeatedMisdeclaration,
}

impl FindingKind {
    /// Every kind.
    pub const ALL: [FindingKind; 12] = [
        FindingKind::Undervaluation,
        FindingKind::Overvaluation,
        FindingKind::PhantomExport,
        FindingKind::PhantomImport,
        FindingKind::OriginMisdeclaration,
        FindingKind::Transshipment,
        FindingKind::ClassificationShift,
        FindingKind::ChplDiversion,
        FindingKind::SplitBelowThreshold,
        FindingKind::QuantityShortfall,
        FindingKind::PartyChange,
        FindingKind::RepeatedMisdeclaration,
    ];

    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Undervaluation => "undervaluation",
            FindingKind::Overvaluation => "overvaluation",
            FindingKind::PhantomExport => "phantom_export",
            FindingKind::PhantomImport => "phantom_import",
            FindingKind::OriginMisdeclaration => "origin_misdeclaration",
            FindingKind::Transshipment => "transshipment",
            FindingKind::ClassificationShift => "classification_shift",
            FindingKind::ChplDiversion => "chpl_diversion",
            FindingKind::SplitBelowThreshold => "split_below_threshold",
            FindingKind::QuantityShortfall => "quantity_shortfall",
            FindingKind::PartyChange => "party_change",
            FindingKind::RepeatedMisdeclaration => "repeated_misdeclaration",
        }
    }

    /// Parses [`FindingKind::as_str`].
    pub fn parse(raw: &str) -> Option<FindingKind> {
        FindingKind::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// Kinds that count as a misdeclaration for [`FindingKind::RepeatedMisdeclaration`].
    pub fn is_misdeclaration(self) -> bool {
        matches!(
            self,
            FindingKind::Undervaluation
                | FindingKind::Overvaluation
                | FindingKind::OriginMisdeclaration
                | FindingKind::ClassificationShift
                | FindingKind::QuantityShortfall
                | FindingKind::PartyChange
        )
    }
}

/// Where a finding is anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// Link `n` of direction `d`.
    Link {
        /// Direction index.
        direction: usize,
        /// Link index.
        link: usize,
    },
    /// Unmatched export leg.
    Export {
        /// Direction index.
        direction: usize,
        /// Export index.
        leg: usize,
    },
    /// Unmatched import leg.
    Import {
        /// Direction index.
        direction: usize,
        /// Import index.
        leg: usize,
    },
}

/// One flagged pattern, with the statistics behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// What.
    pub kind: FindingKind,
    /// 0..1, comparable across kinds.
    pub score: f64,
    /// Anchor.
    pub unit: Unit,
    /// Declarations involved, export side first.
    pub legs: Vec<LegRef>,
    /// Headline HS6.
    pub hs6: Option<String>,
    /// Rules that fired and reference statistics, in words.
    pub detail: String,
}

/// A finding as a targeting feature: one row per declaration, consumed by
/// `caravan-target` without knowing mirror internals.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetingFeature {
    /// The declaration the feature belongs to.
    pub declaration: LegRef,
    /// Kind of finding.
    pub kind: FindingKind,
    /// 0..1.
    pub score: f64,
}

impl Finding {
    /// One feature per declaration of the finding.
    pub fn features(&self) -> Vec<TargetingFeature> {
        self.legs
            .iter()
            .map(|leg| TargetingFeature {
                declaration: leg.clone(),
                kind: self.kind,
                score: self.score,
            })
            .collect()
    }
}

/// Content of a CMAA spontaneous-information message or the basis of a request, built
/// from a finding. Data only: the messaging layer wraps, signs and sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpontaneousInformation {
    /// One-line subject.
    pub subject: String,
    /// The partner's declarations concerned (the ones it can act on).
    pub partner_declarations: Vec<LegRef>,
    /// Our own declarations, for the partner to quote back.
    pub our_declarations: Vec<LegRef>,
    /// Kind of finding.
    pub kind: FindingKind,
    /// Score.
    pub score: f64,
    /// HS6.
    pub hs6: Option<String>,
    /// What was found, with the statistics used.
    pub summary: String,
    /// Always states that this is a risk indicator, not a determination.
    pub caveat: &'static str,
}

/// The caveat every spontaneous-information item carries (`spec/analytics.md`, shared
/// rules: "Risk indicators, not values").
pub const RISK_INDICATOR_CAVEAT: &str = "Mirror-matching risk indicator for the partner's own assessment; it is not a customs value or a determination of an offence.";

impl Finding {
    /// Content for the partner administration `partner` (ISO alpha-2).
    pub fn spontaneous_information(&self, partner: &str) -> SpontaneousInformation {
        let (theirs, ours): (Vec<LegRef>, Vec<LegRef>) = self
            .legs
            .iter()
            .cloned()
            .partition(|l| l.reporter == partner);
        SpontaneousInformation {
            subject: format!(
                "Mirror discrepancy: {}{}",
                self.kind.as_str().replace('_', " "),
                self.hs6
                    .as_deref()
                    .map(|h| format!(" (HS {h})"))
                    .unwrap_or_default()
            ),
            partner_declarations: theirs,
            our_declarations: ours,
            kind: self.kind,
            score: self.score,
            hs6: self.hs6.clone(),
            summary: self.detail.clone(),
            caveat: RISK_INDICATOR_CAVEAT,
        }
    }
}
