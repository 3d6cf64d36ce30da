//! CSV and Parquet exports of links, discrepancies, findings and aggregates: the files
//! analysts open in a spreadsheet or load into DuckDB, and the `caravan mirror link
//! --output` format.
//!
//! Writers take any [`std::io::Write`]; the crate opens no file. The Parquet tables
//! ([`parquet_tables`]) keep numbers as numbers and unknowns as nulls, where CSV has to
//! print them; the bytes are written by [`crate::parquet`].

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

/// One Parquet table of a report: its file stem and contents.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTable {
    /// File name without extension (`links`, `gaps_by_hs6`, …).
    pub name: String,
    /// The table.
    pub table: crate::parquet::Table,
}

/// Collects columns; names and lengths are fixed by construction, so a push that fails
/// is a bug in this module and is reported, not unwrapped.
struct Columns(crate::parquet::Table, Option<crate::parquet::ParquetError>);

impl Columns {
    fn new() -> Columns {
        Columns(crate::parquet::Table::default(), None)
    }

    fn add(&mut self, name: &str, required: bool, data: crate::parquet::ColumnData) {
        if self.1.is_none()
            && let Err(e) = self.0.push(name, required, data)
        {
            self.1 = Some(e);
        }
    }

    fn text(&mut self, name: &str, values: Vec<String>) {
        self.add(
            name,
            true,
            crate::parquet::ColumnData::Utf8(values.into_iter().map(Some).collect()),
        );
    }

    fn opt_text(&mut self, name: &str, values: Vec<Option<String>>) {
        self.add(name, false, crate::parquet::ColumnData::Utf8(values));
    }

    fn float(&mut self, name: &str, values: Vec<Option<f64>>) {
        self.add(name, false, crate::parquet::ColumnData::Double(values));
    }

    fn int(&mut self, name: &str, values: Vec<Option<i64>>) {
        self.add(name, false, crate::parquet::ColumnData::Int64(values));
    }

    fn count(&mut self, name: &str, values: Vec<i64>) {
        self.add(
            name,
            true,
            crate::parquet::ColumnData::Int64(values.into_iter().map(Some).collect()),
        );
    }

    fn flag(&mut self, name: &str, values: Vec<bool>) {
        self.add(
            name,
            true,
            crate::parquet::ColumnData::Bool(values.into_iter().map(Some).collect()),
        );
    }

    fn finish(self, name: &str) -> Result<NamedTable, crate::parquet::ParquetError> {
        match self.1 {
            Some(e) => Err(e),
            None => Ok(NamedTable {
                name: name.to_owned(),
                table: self.0,
            }),
        }
    }
}

type LinkAt<'a> = (String, usize, &'a crate::analysis::DirectionAnalysis);

fn link_of<'a>(l: &LinkAt<'a>) -> &'a crate::link::Link {
    &l.2.linkage.links[l.1]
}

fn disc<'a>(l: &LinkAt<'a>) -> &'a crate::discrepancy::Discrepancy {
    &l.2.discrepancies[l.1]
}

fn joined<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(";")
}

/// Every link as one row (`links`), its discrepancy as one row (`discrepancies`), one
/// row per data issue met on a link (`data_issues`), one row per unmatched leg
/// (`unmatched`), the findings (`findings`), the gaps by partner, chapter, HS6 and
/// month (`gaps_by_*`) and the Fisman–Wei view (`tariff_elasticity`).
pub fn parquet_tables(
    analysis: &Analysis,
    gaps_by: &[(crate::aggregate::GroupBy, Vec<GapRow>)],
    elasticities: &[ElasticityRow],
) -> Result<Vec<NamedTable>, crate::parquet::ParquetError> {
    let mut out = Vec::new();
    let links: Vec<LinkAt<'_>> = analysis
        .directions
        .iter()
        .flat_map(|dir| (0..dir.linkage.links.len()).map(move |n| (dir.label(), n, dir)))
        .collect();
    let lrns = |idx: &[usize], legs: &[crate::leg::Leg]| {
        idx.iter()
            .map(|&i| legs[i].reference.lrn.clone())
            .collect::<Vec<_>>()
            .join(";")
    };

    let mut t = Columns::new();
    t.text("direction", links.iter().map(|l| l.0.clone()).collect());
    t.count("link", links.iter().map(|l| l.1 as i64).collect());
    t.text(
        "cardinality",
        links
            .iter()
            .map(|l| link_of(l).cardinality().to_owned())
            .collect(),
    );
    t.text(
        "tier",
        links
            .iter()
            .map(|l| link_of(l).tier.as_str().to_owned())
            .collect(),
    );
    t.float(
        "confidence",
        links.iter().map(|l| Some(link_of(l).confidence)).collect(),
    );
    t.text(
        "export_lrns",
        links
            .iter()
            .map(|l| lrns(&link_of(l).exports, &l.2.exports))
            .collect(),
    );
    t.text(
        "import_lrns",
        links
            .iter()
            .map(|l| lrns(&link_of(l).imports, &l.2.imports))
            .collect(),
    );
    t.opt_text(
        "hs6",
        links
            .iter()
            .map(|l| {
                link_of(l)
                    .exports
                    .first()
                    .and_then(|&e| l.2.exports[e].main_hs6())
                    .map(str::to_owned)
            })
            .collect(),
    );
    t.text(
        "evidence",
        links.iter().map(|l| joined(&link_of(l).evidence)).collect(),
    );
    out.push(t.finish("links")?);

    let mut t = Columns::new();
    t.text("direction", links.iter().map(|l| l.0.clone()).collect());
    t.count("link", links.iter().map(|l| l.1 as i64).collect());
    type Field = fn(&crate::discrepancy::Discrepancy) -> Option<f64>;
    let numbers: [(&str, Field); 14] = [
        ("export_fob", |d| d.export_fob),
        ("import_cif", |d| d.import_cif),
        ("cif_factor", |d| d.cif_factor),
        ("import_fob", |d| d.import_fob),
        ("log_gap", |d| d.log_gap),
        ("quantity_agreement", |d| d.quantity_agreement),
        ("weighted_gap", |d| d.weighted_gap),
        ("unit_value_gap_kg", |d| d.unit_value_gap_kg),
        ("net_mass_gap", |d| d.net_mass_gap),
        ("gross_mass_gap", |d| d.gross_mass_gap),
        ("quantity_gap", |d| d.quantity_gap),
        ("packages_gap", |d| d.packages_gap),
        ("exporter_similarity", |d| d.exporter_similarity),
        ("importer_similarity", |d| d.importer_similarity),
    ];
    t.opt_text(
        "factor_source",
        links
            .iter()
            .map(|l| disc(l).factor_source.map(|f| f.as_str().to_owned()))
            .collect(),
    );
    for (name, field) in numbers {
        t.float(name, links.iter().map(|l| field(disc(l))).collect());
    }
    t.int(
        "date_gap_days",
        links.iter().map(|l| disc(l).date_gap_days).collect(),
    );
    t.flag(
        "outside_window",
        links.iter().map(|l| disc(l).outside_window).collect(),
    );
    t.float(
        "duty_at_risk",
        links.iter().map(|l| disc(l).duty_at_risk).collect(),
    );
    t.text(
        "hs_shifts",
        links
            .iter()
            .map(|l| {
                disc(l)
                    .hs
                    .iter()
                    .filter(|h| h.common_digits < 6)
                    .map(|h| format!("{}>{}", h.export_hs6, h.import_hs6))
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .collect(),
    );
    t.flag(
        "lower_duty_sibling",
        links
            .iter()
            .map(|l| disc(l).hs.iter().any(|h| h.lower_duty_sibling()))
            .collect(),
    );
    t.text(
        "export_origins",
        links
            .iter()
            .map(|l| disc(l).export_origins.join(";"))
            .collect(),
    );
    t.text(
        "import_origins",
        links
            .iter()
            .map(|l| disc(l).import_origins.join(";"))
            .collect(),
    );
    t.flag(
        "origin_changed",
        links.iter().map(|l| disc(l).origin_changed()).collect(),
    );
    t.text(
        "export_routing",
        links
            .iter()
            .map(|l| disc(l).export_routing.join(";"))
            .collect(),
    );
    t.text(
        "import_routing",
        links
            .iter()
            .map(|l| disc(l).import_routing.join(";"))
            .collect(),
    );
    t.count(
        "issues",
        links.iter().map(|l| disc(l).issues.len() as i64).collect(),
    );
    out.push(t.finish("discrepancies")?);

    let issues: Vec<(&str, usize, &crate::discrepancy::DataIssue)> = links
        .iter()
        .flat_map(|l| disc(l).issues.iter().map(move |i| (l.0.as_str(), l.1, i)))
        .collect();
    let mut t = Columns::new();
    t.text("direction", issues.iter().map(|i| i.0.to_owned()).collect());
    t.count("link", issues.iter().map(|i| i.1 as i64).collect());
    t.text(
        "reporter",
        issues.iter().map(|i| i.2.leg.reporter.clone()).collect(),
    );
    t.text(
        "declarant",
        issues.iter().map(|i| i.2.leg.declarant.clone()).collect(),
    );
    t.text("lrn", issues.iter().map(|i| i.2.leg.lrn.clone()).collect());
    t.text("code", issues.iter().map(|i| i.2.code.to_owned()).collect());
    t.text(
        "message",
        issues.iter().map(|i| i.2.message.clone()).collect(),
    );
    out.push(t.finish("data_issues")?);

    let mut unmatched: Vec<(String, &str, &crate::leg::Leg)> = Vec::new();
    for dir in &analysis.directions {
        for &e in &dir.linkage.unmatched_exports {
            unmatched.push((dir.label(), "export", &dir.exports[e]));
        }
        for &i in &dir.linkage.unmatched_imports {
            unmatched.push((dir.label(), "import", &dir.imports[i]));
        }
    }
    let mut t = Columns::new();
    t.text("direction", unmatched.iter().map(|u| u.0.clone()).collect());
    t.text("side", unmatched.iter().map(|u| u.1.to_owned()).collect());
    t.text(
        "reporter",
        unmatched
            .iter()
            .map(|u| u.2.reference.reporter.clone())
            .collect(),
    );
    t.text(
        "lrn",
        unmatched
            .iter()
            .map(|u| u.2.reference.lrn.clone())
            .collect(),
    );
    t.opt_text(
        "hs6",
        unmatched
            .iter()
            .map(|u| u.2.main_hs6().map(str::to_owned))
            .collect(),
    );
    t.opt_text(
        "date",
        unmatched
            .iter()
            .map(|u| u.2.date.map(|d| d.to_string()))
            .collect(),
    );
    t.float(
        "net_mass",
        unmatched.iter().map(|u| u.2.net_mass()).collect(),
    );
    out.push(t.finish("unmatched")?);

    let mut findings: Vec<&crate::findings::Finding> = analysis.findings.iter().collect();
    findings.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.unit.cmp(&b.unit)));
    let unit = |f: &crate::findings::Finding| match f.unit {
        Unit::Link { direction, link } => (direction, "link", link),
        Unit::Export { direction, leg } => (direction, "export", leg),
        Unit::Import { direction, leg } => (direction, "import", leg),
    };
    let mut t = Columns::new();
    t.text(
        "direction",
        findings
            .iter()
            .map(|f| analysis.directions[unit(f).0].label())
            .collect(),
    );
    t.text(
        "unit",
        findings.iter().map(|f| unit(f).1.to_owned()).collect(),
    );
    t.count("index", findings.iter().map(|f| unit(f).2 as i64).collect());
    t.text(
        "kind",
        findings
            .iter()
            .map(|f| f.kind.as_str().to_owned())
            .collect(),
    );
    t.float("score", findings.iter().map(|f| Some(f.score)).collect());
    t.opt_text("hs6", findings.iter().map(|f| f.hs6.clone()).collect());
    t.text(
        "declarations",
        findings.iter().map(|f| joined(&f.legs)).collect(),
    );
    t.text(
        "detail",
        findings.iter().map(|f| f.detail.clone()).collect(),
    );
    out.push(t.finish("findings")?);

    for (by, rows) in gaps_by {
        let mut t = Columns::new();
        t.text(
            "direction",
            rows.iter().map(|r| r.direction.clone()).collect(),
        );
        t.text(by.as_str(), rows.iter().map(|r| r.key.clone()).collect());
        t.count("links", rows.iter().map(|r| r.links as i64).collect());
        t.count(
            "unmatched_exports",
            rows.iter().map(|r| r.unmatched_exports as i64).collect(),
        );
        t.count(
            "unmatched_imports",
            rows.iter().map(|r| r.unmatched_imports as i64).collect(),
        );
        type Field = fn(&GapRow) -> f64;
        let fields: [(&str, Field); 6] = [
            ("export_fob", |r| r.export_fob),
            ("import_fob", |r| r.import_fob),
            ("gap", |r| r.gap),
            ("weighted_gap", |r| r.weighted_gap),
            ("median_log_gap", |r| r.median_log_gap),
            ("unmatched_export_value", |r| r.unmatched_export_value),
        ];
        for (name, field) in fields {
            t.float(name, rows.iter().map(|r| Some(field(r))).collect());
        }
        out.push(t.finish(&format!("gaps_by_{}", by.as_str()))?);
    }

    let mut t = Columns::new();
    t.text(
        "direction",
        elasticities.iter().map(|r| r.direction.clone()).collect(),
    );
    t.text(
        "chapter",
        elasticities.iter().map(|r| r.chapter.clone()).collect(),
    );
    t.count("n", elasticities.iter().map(|r| r.n as i64).collect());
    type Coef = fn(&ElasticityRow) -> f64;
    let coefs: [(&str, Coef); 5] = [
        ("alpha", |r| r.alpha),
        ("beta", |r| r.beta),
        ("beta_se", |r| r.beta_se),
        ("gamma", |r| r.gamma),
        ("gamma_se", |r| r.gamma_se),
    ];
    for (name, field) in coefs {
        t.float(name, elasticities.iter().map(|r| Some(field(r))).collect());
    }
    t.flag("flagged", elasticities.iter().map(|r| r.flagged).collect());
    out.push(t.finish("tariff_elasticity")?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use caravan_corridor::{CorridorConfig, generate};

    use super::parquet_tables;
    use crate::aggregate::{GroupBy, gaps, tariff_elasticity};
    use crate::analysis::{MirrorConfig, analyse};
    use crate::leg::legs_from_drafts;
    use crate::parquet::{ColumnData, Table, WriteOptions, read::read, write};
    use crate::rates::Rates;
    use crate::similarity::TokenSimilarity;

    fn column<'t>(t: &'t Table, name: &str) -> &'t ColumnData {
        &t.columns.iter().find(|c| c.name == name).unwrap().data
    }

    /// Compared in a currency no rate table covers, every value is a per-record
    /// `MIRROR_RATE_MISSING`: the Parquet tables name each one and leave the value null,
    /// never zero.
    #[test]
    fn parquet_tables_report_missing_rates_per_record_and_keep_unknowns_null() {
        let corridor = generate(&CorridorConfig::with(3, 150));
        let (us, _) = legs_from_drafts("US", &corridor.us);
        let (uz, _) = legs_from_drafts("UZ", &corridor.uz);
        let rates = Rates::empty("EUR");
        let analysis = analyse(
            ("US", &us),
            ("UZ", &uz),
            &rates,
            &TokenSimilarity,
            &MirrorConfig::default(),
        );
        let gaps_by: Vec<_> = [GroupBy::Partner, GroupBy::Month]
            .into_iter()
            .map(|by| (by, gaps(&analysis, by, &rates)))
            .collect();
        let tables = parquet_tables(
            &analysis,
            &gaps_by,
            &tariff_elasticity(&analysis, &rates, 1),
        )
        .unwrap();
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "links",
                "discrepancies",
                "data_issues",
                "unmatched",
                "findings",
                "gaps_by_partner",
                "gaps_by_month",
                "tariff_elasticity"
            ]
        );
        let table = |n: &str| &tables.iter().find(|t| t.name == n).unwrap().table;
        let links: usize = analysis
            .directions
            .iter()
            .map(|d| d.linkage.links.len())
            .sum();
        assert_eq!(table("links").rows(), links);
        assert_eq!(table("discrepancies").rows(), links);
        assert_eq!(table("findings").rows(), analysis.findings.len());
        let issues: usize = analysis
            .directions
            .iter()
            .flat_map(|d| &d.discrepancies)
            .map(|d| d.issues.len())
            .sum();
        assert!(issues > 0);
        assert_eq!(table("data_issues").rows(), issues);
        let ColumnData::Utf8(codes) = column(table("data_issues"), "code") else {
            panic!("code is a string column");
        };
        assert!(
            codes
                .iter()
                .any(|c| c.as_deref() == Some("MIRROR_RATE_MISSING"))
        );
        // A link whose value could not be converted has a null gap, not 0.
        let ColumnData::Double(g) = column(table("discrepancies"), "log_gap") else {
            panic!("log_gap is a double column");
        };
        let expected_nulls = analysis
            .directions
            .iter()
            .flat_map(|d| &d.discrepancies)
            .filter(|d| d.log_gap.is_none())
            .count();
        assert!(expected_nulls > 0);
        assert_eq!(g.iter().filter(|v| v.is_none()).count(), expected_nulls);
        // Every table survives the file format.
        for t in &tables {
            let mut bytes = Vec::new();
            write(&mut bytes, &t.table, &WriteOptions::default()).unwrap();
            assert_eq!(
                read(&bytes).unwrap().table.rows(),
                t.table.rows(),
                "{}",
                t.name
            );
        }
    }
}
