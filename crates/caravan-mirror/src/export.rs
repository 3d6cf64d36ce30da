//! CSV exports of links, findings and aggregates: the files analysts open in a
//! spreadsheet and the `caravan mirror link --output` format.
//!
//! Writers take any [`std::io::Write`]; the crate opens no file. Parquet is not written
//! here (see the crate docs for why).

use std::io::Write;

use crate::aggregate::{ElasticityRow, GapRow};
use crate::analysis::Analysis;
use crate::findings::Unit;

fn opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.6}")).unwrap_or_default()
}

/// Header of [`write_links`].
pub const LINKS_HEADER: [&str; 22] = [
    "direction",
    "link",
    "cardinality",
    "tier",
    "confidence",
    "export_lrns",
    "import_lrns",
    "hs6",
    "export_fob",
    "import_cif",
    "cif_factor",
    "factor_source",
    "import_fob",
    "log_gap",
    "quantity_agreement",
    "weighted_gap",
    "net_mass_gap",
    "quantity_gap",
    "date_gap_days",
    "hs_shift",
    "evidence",
    "issues",
];

/// One row per link, then one per unmatched leg (tier `unmatched`).
pub fn write_links(out: impl Write, analysis: &Analysis) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(LINKS_HEADER)?;
    for dir in &analysis.directions {
        let label = dir.label();
        for (n, (link, d)) in dir.linkage.links.iter().zip(&dir.discrepancies).enumerate() {
            let lrns = |idx: &[usize], legs: &[crate::leg::Leg]| {
                idx.iter()
                    .map(|&i| legs[i].reference.lrn.clone())
                    .collect::<Vec<_>>()
                    .join(";")
            };
            let hs6 = link
                .exports
                .first()
                .and_then(|&e| dir.exports[e].main_hs6())
                .unwrap_or("");
            w.write_record([
                label.clone(),
                n.to_string(),
                link.cardinality().to_owned(),
                link.tier.as_str().to_owned(),
                format!("{:.4}", link.confidence),
                lrns(&link.exports, &dir.exports),
                lrns(&link.imports, &dir.imports),
                hs6.to_owned(),
                opt(d.export_fob),
                opt(d.import_cif),
                opt(d.cif_factor),
                d.factor_source.map(|f| f.as_str()).unwrap_or("").to_owned(),
                opt(d.import_fob),
                opt(d.log_gap),
                opt(d.quantity_agreement),
                opt(d.weighted_gap),
                opt(d.net_mass_gap),
                opt(d.quantity_gap),
                d.date_gap_days.map(|g| g.to_string()).unwrap_or_default(),
                d.hs.iter()
                    .map(|h| format!("{}>{}", h.export_hs6, h.import_hs6))
                    .collect::<Vec<_>>()
                    .join(";"),
                link.evidence
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(";"),
                d.issues
                    .iter()
                    .map(|i| format!("{}:{}", i.leg, i.code))
                    .collect::<Vec<_>>()
                    .join(";"),
            ])?;
        }
        for (tier, idx, legs) in [
            (
                "unmatched_export",
                &dir.linkage.unmatched_exports,
                &dir.exports,
            ),
            (
                "unmatched_import",
                &dir.linkage.unmatched_imports,
                &dir.imports,
            ),
        ] {
            for &i in idx {
                let leg = &legs[i];
                let mut record = vec![String::new(); LINKS_HEADER.len()];
                record[0] = label.clone();
                record[3] = tier.to_owned();
                if tier == "unmatched_export" {
                    record[5] = leg.reference.lrn.clone();
                } else {
                    record[6] = leg.reference.lrn.clone();
                }
                record[7] = leg.main_hs6().unwrap_or("").to_owned();
                w.write_record(&record)?;
            }
        }
    }
    w.flush()?;
    Ok(())
}

/// Header of [`write_findings`].
pub const FINDINGS_HEADER: [&str; 7] = [
    "direction",
    "unit",
    "kind",
    "score",
    "hs6",
    "declarations",
    "detail",
];

/// One row per finding, in ranking order of their units.
pub fn write_findings(out: impl Write, analysis: &Analysis) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(FINDINGS_HEADER)?;
    let mut findings: Vec<&crate::findings::Finding> = analysis.findings.iter().collect();
    findings.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.unit.cmp(&b.unit)));
    for f in findings {
        let (direction, unit) = match f.unit {
            Unit::Link { direction, link } => (direction, format!("link:{link}")),
            Unit::Export { direction, leg } => (direction, format!("export:{leg}")),
            Unit::Import { direction, leg } => (direction, format!("import:{leg}")),
        };
        w.write_record([
            analysis.directions[direction].label(),
            unit,
            f.kind.as_str().to_owned(),
            format!("{:.4}", f.score),
            f.hs6.clone().unwrap_or_default(),
            f.legs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(";"),
            f.detail.clone(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Aggregate rows.
pub fn write_gaps(out: impl Write, rows: &[GapRow], by: &str) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "direction",
        by,
        "links",
        "unmatched_exports",
        "unmatched_imports",
        "export_fob",
        "import_fob",
        "gap",
        "weighted_gap",
        "median_log_gap",
        "unmatched_export_value",
    ])?;
    for r in rows {
        w.write_record([
            r.direction.clone(),
            r.key.clone(),
            r.links.to_string(),
            r.unmatched_exports.to_string(),
            r.unmatched_imports.to_string(),
            format!("{:.2}", r.export_fob),
            format!("{:.2}", r.import_fob),
            format!("{:.2}", r.gap),
            format!("{:.2}", r.weighted_gap),
            format!("{:.6}", r.median_log_gap),
            format!("{:.2}", r.unmatched_export_value),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Fisman–Wei rows.
pub fn write_elasticities(out: impl Write, rows: &[ElasticityRow]) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "direction",
        "chapter",
        "n",
        "alpha",
        "beta",
        "beta_se",
        "gamma",
        "gamma_se",
        "flagged",
    ])?;
    for r in rows {
        w.write_record([
            r.direction.clone(),
            r.chapter.clone(),
            r.n.to_string(),
            format!("{:.6}", r.alpha),
            format!("{:.6}", r.beta),
            format!("{:.6}", r.beta_se),
            format!("{:.6}", r.gamma),
            format!("{:.6}", r.gamma_se),
            r.flagged.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}
