//! Ground truth: what the generator did to each shipment, so tests and evaluations can
//! score mirror matching, targeting and screening against known answers
//! (`spec/analytics.md`, "Synthetic pairs for testing").

use std::io::{self, Write};

/// Which way the goods move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// US export leg at the US node, import leg at the UZ node.
    UsToUz,
    /// UZ export leg at the UZ node, import leg at the US node.
    UzToUs,
}

impl Direction {
    /// `US-UZ` or `UZ-US`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::UsToUz => "US-UZ",
            Direction::UzToUs => "UZ-US",
        }
    }
}

/// An injected, labelled irregularity (`spec/analytics.md`, mirror matching and CHPL).
///
/// Each kind is visible in the data, so a detector can in principle find it; the tests
/// assert that visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnomalyKind {
    /// The import leg declares 30–70 % of the export leg's value (import under-invoicing,
    /// the g < 0 case of the value discrepancy).
    Undervaluation,
    /// The first goods item of the import leg is declared under a lower-duty sibling
    /// subheading of the same HS heading (Fisman and Wei's signature).
    Misclassification,
    /// UZ→US only: the UZ export leg declares Chinese or Russian origin; the US import leg
    /// declares Uzbek, Kazakh, Turkish or Emirati origin and its routing adds a hub.
    FalseOrigin,
    /// US→UZ only: CHPL goods (BIS Common High Priority List) imported into Uzbekistan,
    /// in half the cases under a non-CHPL code, and re-exported by the consignee within
    /// 180 days to Russia, Belarus, Kazakhstan or Kyrgyzstan (an extra UZ export leg).
    ChplReexport,
    /// One leg only, with no partner leg at all: an import without export (smuggling on
    /// the export side or false dispatch) or an export without import (diversion).
    PhantomShipment,
    /// One export leg of USD 5,000–9,500 split into several import declarations, each
    /// below [`crate::SPLIT_THRESHOLD_USD`].
    SplitConsignment,
}

impl AnomalyKind {
    /// Every kind, in a fixed order.
    pub const ALL: [AnomalyKind; 6] = [
        AnomalyKind::Undervaluation,
        AnomalyKind::Misclassification,
        AnomalyKind::FalseOrigin,
        AnomalyKind::ChplReexport,
        AnomalyKind::PhantomShipment,
        AnomalyKind::SplitConsignment,
    ];

    /// Snake-case label used in the truth file.
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::Undervaluation => "undervaluation",
            AnomalyKind::Misclassification => "misclassification",
            AnomalyKind::FalseOrigin => "false_origin",
            AnomalyKind::ChplReexport => "chpl_reexport",
            AnomalyKind::PhantomShipment => "phantom_shipment",
            AnomalyKind::SplitConsignment => "split_consignment",
        }
    }
}

/// A deliberately defective but warning-level identifier or total (spec 7.4: "a configured
/// share of defective ones so that warnings appear in the demo"). None of them makes a
/// local filing fail validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DefectKind {
    /// ISO 6346 check digit wrong on one leg's container (`ID_CONTAINER_*`, always a warning).
    ContainerCheckDigit,
    /// US AMS bill of lading without a SCAC prefix (`DECL_BL_AMS_FORMAT`, US node).
    BlAmsFormat,
    /// A goods description that is only a generic word (`DECL_DESCRIPTION_GENERIC`).
    GenericDescription,
    /// Header total packages differs from the item sum (`DECL_TOTAL_PACKAGES`).
    TotalPackages,
}

impl DefectKind {
    /// Snake-case label used in the truth file.
    pub fn as_str(self) -> &'static str {
        match self {
            DefectKind::ContainerCheckDigit => "container_check_digit",
            DefectKind::BlAmsFormat => "bl_ams_format",
            DefectKind::GenericDescription => "generic_description",
            DefectKind::TotalPackages => "total_packages",
        }
    }
}

/// What happened to one shipment.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthRow {
    /// `C{year}-{index:07}`.
    pub shipment_id: String,
    /// Direction of the goods.
    pub direction: Direction,
    /// `air` or `surface` (containerised sea leg plus rail or road).
    pub mode: &'static str,
    /// LRNs of this shipment's declarations at the US node (0, 1, or several for splits).
    pub us_lrns: Vec<String>,
    /// LRNs at the UZ node (0, 1, or several: splits, CHPL re-exports).
    pub uz_lrns: Vec<String>,
    /// HS6 of the first goods item as shipped (the export leg's code).
    pub hs6: String,
    /// FOB value of the shipment as shipped, USD.
    pub export_value_usd: f64,
    /// The injected anomaly, if any.
    pub anomaly: Option<AnomalyKind>,
    /// UZ→US export leg without a US import leg, reproducing the mirror gap of spec 7.1.
    /// Not an anomaly: a statistical asymmetry.
    pub mirror_gap: bool,
    /// `ent_num:name` of a sanctions-list party on this shipment's legs, if any.
    pub watchlist_party: Option<String>,
    /// The injected warning-level defect, if any.
    pub defect: Option<DefectKind>,
    /// Human-readable detail of the anomaly or defect (values, codes, countries).
    pub detail: String,
}

fn csv_field(w: &mut impl Write, value: &str) -> io::Result<()> {
    if value.contains([',', '"', '\n', '\r']) {
        write!(w, "\"{}\"", value.replace('"', "\"\""))
    } else {
        w.write_all(value.as_bytes())
    }
}

/// The truth file's header row.
pub const TRUTH_CSV_HEADER: &str = "shipment_id,direction,mode,us_lrns,uz_lrns,hs6,export_value_usd,anomaly,mirror_gap,watchlist_party,defect,detail";

/// Writes the truth rows as RFC 4180 CSV with [`TRUTH_CSV_HEADER`]; LRN lists are
/// joined with `;`.
pub fn write_truth_csv(mut w: impl Write, truth: &[TruthRow]) -> io::Result<()> {
    writeln!(w, "{TRUTH_CSV_HEADER}")?;
    for row in truth {
        write_truth_row(&mut w, row)?;
    }
    w.flush()
}

/// Writes one truth row (no header), for streaming use.
pub fn write_truth_row(mut w: impl Write, row: &TruthRow) -> io::Result<()> {
    let fields = [
        row.shipment_id.clone(),
        row.direction.as_str().to_owned(),
        row.mode.to_owned(),
        row.us_lrns.join(";"),
        row.uz_lrns.join(";"),
        row.hs6.clone(),
        format!("{:.2}", row.export_value_usd),
        row.anomaly
            .map(AnomalyKind::as_str)
            .unwrap_or_default()
            .to_owned(),
        row.mirror_gap.to_string(),
        row.watchlist_party.clone().unwrap_or_default(),
        row.defect
            .map(DefectKind::as_str)
            .unwrap_or_default()
            .to_owned(),
        row.detail.clone(),
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        csv_field(&mut w, f)?;
    }
    w.write_all(b"\n")
}
