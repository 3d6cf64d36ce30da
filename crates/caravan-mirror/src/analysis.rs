//! The whole mirror analysis of two nodes' declarations: split legs into the two
//! directions, link each, compute discrepancies, run the detectors and rank units.
//!
//! Input is two sets of [`Leg`]s (one per administration); the caller reads them from
//! files or a store. Output is plain data that the CLI, the API, the demo and the
//! evaluation all read. Valuation thresholds use past data only: a link is judged
//! against the links exported in the year before it ([`MirrorConfig::value_window_days`]),
//! never against later ones. A leg counts as unmatched once its window plus the grace
//! period has closed before [`MirrorConfig::as_of`] (by default the latest date in the
//! data).

use std::collections::HashMap;

use caravan_domain::refdata::chpl;
use chrono::{Datelike, Duration, NaiveDate};

use crate::columns::{LegColumns, RateColumns};
use crate::discrepancy::{
    Discrepancy, DiscrepancyContext, NormalisedNames, Tariff, ValuationConfig,
    discrepancy_with_names,
};
use crate::findings::{Finding, FindingKind, Unit};
use crate::leg::{Flow, Leg};
use crate::link::{LinkConfig, Linkage};
use crate::rates::Rates;
use crate::similarity::NameSimilarity;
use crate::stats::{TrailingCell, robust_z};

/// Analysis parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorConfig {
    /// Linkage.
    pub link: LinkConfig,
    /// CIF/FOB factors.
    pub valuation: ValuationConfig,
    /// Date at which unmatched legs are judged; `None`: the latest date in the data.
    pub as_of: Option<NaiveDate>,
    /// |z| above which a value gap is flagged.
    pub value_z: f64,
    /// |g| a value gap must also exceed (log points) to be material.
    pub value_min_gap: f64,
    /// Smallest cell for valuation statistics before backing off (HS6 → HS4 → chapter
    /// → direction).
    pub min_cell: usize,
    /// Smallest past sample of the last back-off level (the whole direction), below
    /// which a link is not judged: early in a corridor's history the direction has fewer
    /// than [`MirrorConfig::min_cell`] earlier links, and nothing coarser exists. The MAD
    /// floor keeps a small sample from turning noise into findings.
    pub min_history: usize,
    /// Days before a link's export date whose links form its valuation cells: the
    /// thresholds use past data only (spec: "rolling 12 months, past data only").
    pub value_window_days: i32,
    /// Import value below which a split part is "below the threshold" (comparison
    /// currency; USD 2,500 is the US informal-entry limit, 19 CFR 143.21(a)).
    pub split_threshold: f64,
    /// Countries a CHPL re-export to which is flagged.
    pub diversion_countries: Vec<String>,
    /// Days after import within which a re-export counts.
    pub reexport_days: i64,
}

impl Default for MirrorConfig {
    fn default() -> Self {
        MirrorConfig {
            link: LinkConfig::default(),
            valuation: ValuationConfig::default(),
            as_of: None,
            value_z: 3.5,
            value_min_gap: 0.2,
            min_cell: 20,
            min_history: 5,
            value_window_days: 365,
            split_threshold: 2_500.0,
            diversion_countries: ["RU", "BY", "KZ", "KG"].map(str::to_owned).to_vec(),
            reexport_days: 180,
        }
    }
}

/// One direction: exports of `exporter` against imports of `importer`.
#[derive(Debug, Clone)]
pub struct DirectionAnalysis {
    /// Exporting country.
    pub exporter: String,
    /// Importing country.
    pub importer: String,
    /// Export legs bound for `importer`.
    pub exports: Vec<Leg>,
    /// Import legs from `exporter` (or with no dispatch country).
    pub imports: Vec<Leg>,
    /// Links.
    pub linkage: Linkage,
    /// One per link.
    pub discrepancies: Vec<Discrepancy>,
}

impl DirectionAnalysis {
    /// `US-UZ` style label.
    pub fn label(&self) -> String {
        format!("{}-{}", self.exporter, self.importer)
    }

    /// Share of export legs that were linked.
    pub fn export_match_rate(&self) -> f64 {
        let n = self.exports.len();
        if n == 0 {
            return 0.0;
        }
        1.0 - self.linkage.unmatched_exports.len() as f64 / n as f64
    }
}

/// The analysis of both directions.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// `[a→b, b→a]`.
    pub directions: Vec<DirectionAnalysis>,
    /// Every finding.
    pub findings: Vec<Finding>,
    /// The date unmatched legs were judged at.
    pub as_of: Option<NaiveDate>,
    /// Comparison currency.
    pub currency: String,
}

/// A ranked unit with its best score.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedUnit {
    /// The unit.
    pub unit: Unit,
    /// Max finding score plus 0.01 per further finding (ties broken towards units with
    /// more evidence), capped at 1.
    pub score: f64,
}

fn split_direction(
    from: &str,
    to: &str,
    legs_from: &[Leg],
    legs_to: &[Leg],
) -> (Vec<Leg>, Vec<Leg>) {
    let exports = legs_from
        .iter()
        .filter(|l| l.flow == Flow::Export && l.partner.as_deref().is_none_or(|p| p == to))
        .cloned()
        .collect();
    let imports = legs_to
        .iter()
        .filter(|l| l.flow == Flow::Import && l.partner.as_deref().is_none_or(|p| p == from))
        .cloned()
        .collect();
    (exports, imports)
}

/// Runs the analysis of country `a`'s legs against country `b`'s.
pub fn analyse(
    a: (&str, &[Leg]),
    b: (&str, &[Leg]),
    rates: &Rates,
    names: &dyn NameSimilarity,
    config: &MirrorConfig,
) -> Analysis {
    let as_of = config
        .as_of
        .or_else(|| a.1.iter().chain(b.1).filter_map(|l| l.date).max());
    // The two directions share nothing but read-only inputs: one thread each.
    let pairs = [(a, b), (b, a)];
    let directions: Vec<DirectionAnalysis> = crate::columnar::parallel_ranges(2, 1, |range| {
        pairs[range]
            .iter()
            .map(|&((from, legs_from), (to, legs_to))| {
                direction(from, to, legs_from, legs_to, rates, names, config)
            })
            .collect()
    });
    let mut findings = Vec::new();
    for (d, direction) in directions.iter().enumerate() {
        let third_country_exports: Vec<&Leg> = {
            let importer = direction.importer.clone();
            let exporter = direction.exporter.clone();
            let legs = if importer == a.0 { a.1 } else { b.1 };
            legs.iter()
                .filter(|l| {
                    l.flow == Flow::Export && l.partner.as_deref().is_some_and(|p| p != exporter)
                })
                .collect()
        };
        detect(
            d,
            direction,
            &third_country_exports,
            rates,
            names,
            config,
            as_of,
            &mut findings,
        );
    }
    Analysis {
        directions,
        findings,
        as_of,
        currency: rates.base().to_owned(),
    }
}

/// Links one direction and computes its discrepancies.
pub fn direction(
    from: &str,
    to: &str,
    legs_from: &[Leg],
    legs_to: &[Leg],
    rates: &Rates,
    names: &dyn NameSimilarity,
    config: &MirrorConfig,
) -> DirectionAnalysis {
    let (exports, imports) = split_direction(from, to, legs_from, legs_to);
    link_direction(from, to, exports, imports, rates, names, config)
}

/// [`direction`] on legs already split: `exports` of `from` bound for `to`, `imports`
/// of `to` from `from`.
pub fn link_direction(
    from: &str,
    to: &str,
    exports: Vec<Leg>,
    imports: Vec<Leg>,
    rates: &Rates,
    names: &dyn NameSimilarity,
    config: &MirrorConfig,
) -> DirectionAnalysis {
    let columns = LegColumns::new(&exports, &imports);
    let linkage = columns.link(names, &config.link);
    let rate_columns = RateColumns::of(rates);
    let tariff = Tariff::observed(&imports, rates);
    let ctx = DiscrepancyContext {
        rates,
        tariff: &tariff,
        valuation: &config.valuation,
        link: &config.link,
        names,
    };
    let normalised = NormalisedNames::of(exports.iter().chain(&imports), names);
    // Links are independent: contiguous chunks on the machine's cores, in link order.
    let discrepancies = crate::columnar::parallel_ranges(linkage.links.len(), 4_096, |range| {
        linkage.links[range]
            .iter()
            .map(|l| {
                discrepancy_with_names(
                    l,
                    &exports,
                    &imports,
                    &ctx,
                    &normalised,
                    Some((&columns, &rate_columns)),
                )
            })
            .collect()
    });
    drop(normalised);
    drop(columns);
    DirectionAnalysis {
        exporter: from.to_owned(),
        importer: to.to_owned(),
        exports,
        imports,
        linkage,
        discrepancies,
    }
}

fn link_legs(dir: &DirectionAnalysis, l: usize) -> Vec<crate::leg::LegRef> {
    let link = &dir.linkage.links[l];
    link.exports
        .iter()
        .map(|&e| dir.exports[e].reference.clone())
        .chain(
            link.imports
                .iter()
                .map(|&i| dir.imports[i].reference.clone()),
        )
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn detect(
    d: usize,
    dir: &DirectionAnalysis,
    third_country_exports: &[&Leg],
    rates: &Rates,
    names: &dyn NameSimilarity,
    config: &MirrorConfig,
    as_of: Option<NaiveDate>,
    out: &mut Vec<Finding>,
) {
    let start = out.len();
    let links = &dir.linkage.links;
    let main_hs6 = |l: usize| -> Option<String> {
        links[l]
            .exports
            .first()
            .and_then(|&e| dir.exports[e].main_hs6())
            .map(str::to_owned)
    };

    // Valuation: robust z of g within cells of the links exported in the trailing year
    // before this one (past data only), with back-off HS6 → HS4 → HS2 → direction. A
    // link without an export date cannot be placed in time and is not judged.
    let mut cell_ids: HashMap<String, usize> = HashMap::new();
    let mut cells: Vec<(String, TrailingCell)> = Vec::new();
    let cells_of = |l: usize,
                    cell_ids: &mut HashMap<String, usize>,
                    cells: &mut Vec<(String, TrailingCell)>| {
        let hs6 = main_hs6(l).unwrap_or_default();
        [
            format!("hs6={hs6}"),
            format!("hs4={}", hs6.get(..4).unwrap_or("")),
            format!("hs2={}", hs6.get(..2).unwrap_or("")),
            "all".to_owned(),
        ]
        .map(|key| {
            *cell_ids.entry(key.clone()).or_insert_with(|| {
                cells.push((key, TrailingCell::default()));
                cells.len() - 1
            })
        })
    };
    let export_day = |l: usize| {
        links[l]
            .exports
            .first()
            .and_then(|&e| dir.exports[e].date)
            .map(|d| d.num_days_from_ce())
    };
    let mut judged: Vec<(usize, f64, i32, [usize; 4])> = Vec::new();
    for (l, disc) in dir.discrepancies.iter().enumerate() {
        let (Some(g), Some(day)) = (disc.log_gap, export_day(l)) else {
            continue;
        };
        let ids = cells_of(l, &mut cell_ids, &mut cells);
        for &id in &ids {
            cells[id].1.push(day, g);
        }
        judged.push((l, g, day, ids));
    }
    for (l, g, day, ids) in judged {
        let disc = &dir.discrepancies[l];
        let last = ids.len() - 1;
        let Some((cell, (med, mad, n))) = ids.iter().enumerate().find_map(|(level, &id)| {
            let stats = cells[id].1.before(day, config.value_window_days);
            let min = if level == last {
                config.min_history
            } else {
                config.min_cell
            };
            (stats.2 >= min).then_some((id, stats))
        }) else {
            continue;
        };
        let cell = cells[cell].0.as_str();
        // The MAD floor (0.02 log points) is the noise of honest FX and rounding.
        let z = robust_z(g, med, mad, 0.02);
        if z.abs() >= config.value_z && (g - med).abs() >= config.value_min_gap {
            let kind = if z < 0.0 {
                FindingKind::Undervaluation
            } else {
                FindingKind::Overvaluation
            };
            let score = 0.5 + 0.5 * ((z.abs() - config.value_z) / 10.0).min(1.0) * 0.9 + 0.05;
            out.push(Finding {
                kind,
                score: score.min(1.0),
                unit: Unit::Link { direction: d, link: l },
                legs: link_legs(dir, l),
                hs6: main_hs6(l),
                detail: format!(
                    "g = {g:.3} (import FOB {:.2} vs export FOB {:.2} {}; CIF/FOB factor {:.3} from {}); cell {cell}, {} days before the export: n = {n}, median {med:.3}, MAD {mad:.3}; z = {z:.1}; duty at risk {}",
                    disc.import_fob.unwrap_or_default(),
                    disc.export_fob.unwrap_or_default(),
                    rates.base(),
                    disc.cif_factor.unwrap_or_default(),
                    disc.factor_source.map_or("unknown", |f| f.as_str()),
                    config.value_window_days,
                    disc.duty_at_risk.map_or("unknown".to_owned(), |v| format!("{v:.2}")),
                ),
            });
        }
    }

    let chpl = chpl();
    let mut reexports = Vec::new();
    for (l, disc) in dir.discrepancies.iter().enumerate() {
        let unit = Unit::Link {
            direction: d,
            link: l,
        };
        let legs = link_legs(dir, l);
        let mut push = |kind, score: f64, hs6: Option<String>, detail: String| {
            out.push(Finding {
                kind,
                score,
                unit,
                legs: legs.clone(),
                hs6,
                detail,
            });
        };
        // Classification.
        for hs in &disc.hs {
            let (score, why) = if hs.lower_duty_sibling() {
                (0.9, "into a lower-duty sibling")
            } else if hs.common_digits == 4 {
                (0.75, "within the heading")
            } else {
                (0.6, "outside the heading")
            };
            push(
                FindingKind::ClassificationShift,
                score,
                Some(hs.export_hs6.clone()),
                format!(
                    "exported as {} (importing duty {}), imported as {} (duty {}): shift {why}",
                    hs.export_hs6,
                    hs.export_code_duty
                        .map_or("unknown".into(), |r| format!("{r:.1} %")),
                    hs.import_hs6,
                    hs.import_code_duty
                        .map_or("unknown".into(), |r| format!("{r:.1} %")),
                ),
            );
        }
        // Origin and route.
        if disc.origin_changed() {
            push(
                FindingKind::OriginMisdeclaration,
                0.9,
                main_hs6(l),
                format!(
                    "origin {} on the export leg, {} on the import leg",
                    disc.export_origins.join("/"),
                    disc.import_origins.join("/")
                ),
            );
        }
        let added = disc.route_added();
        if !added.is_empty() {
            push(
                FindingKind::Transshipment,
                if disc.origin_changed() { 0.85 } else { 0.6 },
                main_hs6(l),
                format!("import leg routes through {} as well", added.join(", ")),
            );
        }
        // Quantity and parties.
        if let Some(gap) = disc.net_mass_gap
            && gap < -0.2
        {
            push(
                FindingKind::QuantityShortfall,
                0.6,
                main_hs6(l),
                format!("net mass {:.0} % below the export leg", -gap * 100.0),
            );
        }
        if let Some(sim) = disc.importer_similarity
            && sim < 0.5
        {
            push(
                FindingKind::PartyChange,
                0.6,
                main_hs6(l),
                format!("importer/consignee names agree only {sim:.2}"),
            );
        }
        // Split below the threshold.
        let link = &links[l];
        if link.imports.len() >= 2 {
            let values: Vec<Option<f64>> = link
                .imports
                .iter()
                .map(|&i| {
                    dir.imports[i]
                        .items
                        .iter()
                        .map(|it| {
                            it.value.and_then(|v| {
                                rates
                                    .to_base(v, it.currency.as_deref(), dir.imports[i].accepted)
                                    .ok()
                            })
                        })
                        .sum::<Option<f64>>()
                })
                .collect();
            if values
                .iter()
                .all(|v| v.is_some_and(|v| v < config.split_threshold))
                && disc.export_fob.is_some_and(|x| x >= config.split_threshold)
            {
                // Every part below the threshold while the whole is above it is
                // structuring, not chance: scored with the near-certain traces.
                push(
                    FindingKind::SplitBelowThreshold,
                    0.9,
                    main_hs6(l),
                    format!(
                        "export of {:.2} {} entered as {} declarations, each below {:.0}",
                        disc.export_fob.unwrap_or_default(),
                        rates.base(),
                        link.imports.len(),
                        config.split_threshold
                    ),
                );
            }
        }
        // CHPL on linked legs.
        for &e in &link.exports {
            let x = &dir.exports[e];
            for code in x.hs6_codes() {
                let Some(tier) = chpl.tier(code) else {
                    continue;
                };
                let tier_bonus = if tier.starts_with('1') || tier.starts_with('2') {
                    0.05
                } else {
                    0.0
                };
                let import_codes: Vec<&str> = link
                    .imports
                    .iter()
                    .flat_map(|&i| dir.imports[i].hs6_codes())
                    .collect();
                if !import_codes.contains(&code)
                    && import_codes.iter().all(|c| chpl.tier(c).is_none())
                {
                    push(
                        FindingKind::ChplDiversion,
                        0.9 + tier_bonus,
                        Some(code.to_owned()),
                        format!(
                            "CHPL tier {tier} item {code} imported under non-CHPL code(s) {}",
                            import_codes.join(", ")
                        ),
                    );
                }
                if let Some(sim) = disc.importer_similarity
                    && sim < 0.5
                {
                    push(
                        FindingKind::ChplDiversion,
                        0.9 + tier_bonus,
                        Some(code.to_owned()),
                        format!(
                            "CHPL tier {tier} item {code} delivered to a different consignee (name similarity {sim:.2})"
                        ),
                    );
                }
                // Re-export by the consignee to a diversion country.
                for &i in &link.imports {
                    let m = &dir.imports[i];
                    let (Some(m_date), Some(consignee)) = (
                        m.date,
                        m.consignee_name.as_ref().or(m.importer_name.as_ref()),
                    ) else {
                        continue;
                    };
                    let consignee = names.normalise(consignee);
                    let m_codes = m.hs6_codes();
                    for rx in third_country_exports {
                        let Some(dest) = rx.partner.as_deref() else {
                            continue;
                        };
                        if !config.diversion_countries.iter().any(|c| c == dest) {
                            continue;
                        }
                        let Some(rx_date) = rx.date else { continue };
                        let days = (rx_date - m_date).num_days();
                        if !(0..=config.reexport_days).contains(&days) {
                            continue;
                        }
                        // The goods go on under the code they were imported with.
                        if !rx.hs6_codes().iter().any(|c| m_codes.contains(c)) {
                            continue;
                        }
                        let Some(exporter) = &rx.exporter_name else {
                            continue;
                        };
                        if names.similarity(&names.normalise(exporter), &consignee) < 0.75 {
                            continue;
                        }
                        let comparable = match (rx.net_mass(), m.net_mass()) {
                            // "Comparable quantity": most of what came in goes out.
                            (Some(a), Some(b)) if b > 0.0 => (0.75..=1.2).contains(&(a / b)),
                            _ => true,
                        };
                        if !comparable {
                            continue;
                        }
                        reexports.push(Finding {
                            kind: FindingKind::ChplDiversion,
                            score: (0.95 + tier_bonus).min(1.0),
                            unit,
                            legs: legs.iter().cloned().chain([rx.reference.clone()]).collect(),
                            hs6: Some(code.to_owned()),
                            detail: format!(
                                "CHPL tier {tier} item {code} re-exported by the consignee to {dest} {days} days after import ({})",
                                rx.reference
                            ),
                        });
                    }
                }
            }
        }
    }

    out.extend(reexports);

    // Unmatched legs.
    let match_rate = dir.export_match_rate();
    let import_match_rate = if dir.imports.is_empty() {
        0.0
    } else {
        1.0 - dir.linkage.unmatched_imports.len() as f64 / dir.imports.len() as f64
    };
    for &e in &dir.linkage.unmatched_exports {
        let x = &dir.exports[e];
        let closes = x.date.map(|date| {
            date + Duration::days(
                config.link.pair_window(x.mode, x.mode).1 + config.link.grace_days,
            )
        });
        let closed = matches!((closes, as_of), (Some(c), Some(a)) if c < a);
        if !closed {
            continue;
        }
        let unit = Unit::Export {
            direction: d,
            leg: e,
        };
        out.push(Finding {
            kind: FindingKind::PhantomExport,
            score: 0.9 * match_rate,
            unit,
            legs: vec![x.reference.clone()],
            hs6: x.main_hs6().map(str::to_owned),
            detail: format!(
                "export without an import leg after the window and grace period; {:.1} % of {} exports are matched",
                match_rate * 100.0,
                dir.label()
            ),
        });
        for code in x.hs6_codes() {
            if let Some(tier) = chpl.tier(code) {
                out.push(Finding {
                    kind: FindingKind::ChplDiversion,
                    score: 0.9,
                    unit,
                    legs: vec![x.reference.clone()],
                    hs6: Some(code.to_owned()),
                    detail: format!("CHPL tier {tier} item {code} exported with no import leg at the destination"),
                });
            }
        }
    }
    for &i in &dir.linkage.unmatched_imports {
        let m = &dir.imports[i];
        out.push(Finding {
            kind: FindingKind::PhantomImport,
            score: 0.85 * import_match_rate,
            unit: Unit::Import { direction: d, leg: i },
            legs: vec![m.reference.clone()],
            hs6: m.main_hs6().map(str::to_owned),
            detail: format!(
                "import declared as dispatched from {} without any export leg there; {:.1} % of {} imports are matched",
                dir.exporter,
                import_match_rate * 100.0,
                dir.label()
            ),
        });
    }

    // Repeated misdeclaration by the same parties.
    let mut by_parties: HashMap<(String, String), Vec<usize>> = HashMap::new();
    for f in &out[start..] {
        if let (true, Unit::Link { link: l, .. }) = (f.kind.is_misdeclaration(), f.unit) {
            let Some(&e) = links[l].exports.first() else {
                continue;
            };
            let x = &dir.exports[e];
            let key = (
                x.exporter_name
                    .as_deref()
                    .map(|n| names.normalise(n))
                    .unwrap_or_default(),
                x.importer_name
                    .as_deref()
                    .map(|n| names.normalise(n))
                    .unwrap_or_default(),
            );
            let entry = by_parties.entry(key).or_default();
            if !entry.contains(&l) {
                entry.push(l);
            }
        }
    }
    let mut repeated: Vec<((String, String), Vec<usize>)> = by_parties
        .into_iter()
        .filter(|(_, ls)| ls.len() >= 2)
        .collect();
    repeated.sort();
    for ((exporter, importer), ls) in repeated {
        for &l in &ls {
            out.push(Finding {
                kind: FindingKind::RepeatedMisdeclaration,
                score: (0.6 + 0.05 * ls.len() as f64).min(0.95),
                unit: Unit::Link {
                    direction: d,
                    link: l,
                },
                legs: link_legs(dir, l),
                hs6: main_hs6(l),
                detail: format!(
                    "{} links between {exporter:?} and {importer:?} carry misdeclaration findings",
                    ls.len()
                ),
            });
        }
    }
}

impl Analysis {
    /// Units with findings, best first (score, then unit order for determinism).
    pub fn ranked_units(&self) -> Vec<RankedUnit> {
        let mut by_unit: HashMap<Unit, (f64, usize)> = HashMap::new();
        for f in &self.findings {
            let entry = by_unit.entry(f.unit).or_insert((0.0, 0));
            entry.0 = entry.0.max(f.score);
            entry.1 += 1;
        }
        let mut ranked: Vec<RankedUnit> = by_unit
            .into_iter()
            .map(|(unit, (max, n))| RankedUnit {
                unit,
                score: (max + 0.01 * (n.saturating_sub(1)) as f64).min(1.0),
            })
            .collect();
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.unit.cmp(&b.unit)));
        ranked
    }

    /// Number of units (links and unmatched legs) in both directions: the population an
    /// alert rate is a share of.
    pub fn unit_count(&self) -> usize {
        self.directions
            .iter()
            .map(|d| {
                d.linkage.links.len()
                    + d.linkage.unmatched_exports.len()
                    + d.linkage.unmatched_imports.len()
            })
            .sum()
    }

    /// The declarations of a unit.
    pub fn unit_legs(&self, unit: Unit) -> Vec<&Leg> {
        match unit {
            Unit::Link { direction, link } => {
                let d = &self.directions[direction];
                let l = &d.linkage.links[link];
                l.exports
                    .iter()
                    .map(|&e| &d.exports[e])
                    .chain(l.imports.iter().map(|&i| &d.imports[i]))
                    .collect()
            }
            Unit::Export { direction, leg } => vec![&self.directions[direction].exports[leg]],
            Unit::Import { direction, leg } => vec![&self.directions[direction].imports[leg]],
        }
    }
}
