//! The discrepancy vector of one link (`spec/analytics.md`, "Discrepancy types"): value
//! after CIF/FOB adjustment and currency conversion, quantities, classification, origin,
//! parties, route and time. Each component is reported separately; none is collapsed
//! into a fraud label.
//!
//! Bad input never becomes a zero: a missing rate, an unknown currency, an absent or
//! zero quantity, or mismatched units leave that component `None` and add a
//! [`DataIssue`] naming the leg, so the run goes on and the analyst sees why a number is
//! missing.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::columnar::FxMap;
use crate::columns::{LegColumns, RateColumns};
use crate::leg::{Leg, LegItem, LegRef, Mode};
use crate::link::{Link, LinkConfig};
use crate::rates::Rates;
use crate::similarity::NameSimilarity;

/// A per-record data problem met while computing discrepancies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataIssue {
    /// The leg at fault.
    pub leg: LegRef,
    /// Stable code: `MIRROR_RATE_MISSING`, `MIRROR_CURRENCY_UNKNOWN`,
    /// `MIRROR_CURRENCY_MISSING`, `MIRROR_DATE_MISSING`, `MIRROR_VALUE_ABSENT`,
    /// `MIRROR_QUANTITY_ABSENT`, `MIRROR_QUANTITY_ZERO`, `MIRROR_UNIT_MISMATCH`,
    /// `MIRROR_MASS_ABSENT`.
    pub code: &'static str,
    /// Detail.
    pub message: String,
}

/// Where the CIF/FOB factor came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorSource {
    /// Declared freight (WCO 117) on every import leg.
    DeclaredFreight,
    /// The configured mode factor.
    ModeDefault,
    /// Some legs declared freight, others used the factor.
    Mixed,
}

impl FactorSource {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            FactorSource::DeclaredFreight => "declared_freight",
            FactorSource::ModeDefault => "mode_default",
            FactorSource::Mixed => "mixed",
        }
    }
}

/// CIF/FOB factors used when freight is not declared (spec default for the corridor:
/// 1.08 air and sea, 1.10 rail and road through third countries).
#[derive(Debug, Clone, PartialEq)]
pub struct ValuationConfig {
    /// Air and sea.
    pub factor_air_sea: f64,
    /// Rail, road and other.
    pub factor_rail_road: f64,
}

impl Default for ValuationConfig {
    fn default() -> Self {
        ValuationConfig {
            factor_air_sea: 1.08,
            factor_rail_road: 1.10,
        }
    }
}

impl ValuationConfig {
    /// Factor for a mode.
    pub fn factor(&self, mode: Mode) -> f64 {
        match mode {
            Mode::Air | Mode::Sea => self.factor_air_sea,
            Mode::Rail | Mode::Road | Mode::Other => self.factor_rail_road,
        }
    }
}

/// HS comparison of one matched pair of goods lines.
#[derive(Debug, Clone, PartialEq)]
pub struct HsComparison {
    /// Export line's HS6.
    pub export_hs6: String,
    /// Import line's HS6.
    pub import_hs6: String,
    /// Longest common level: 6, 4, 2 or 0 digits.
    pub common_digits: u8,
    /// Importing-side duty rate of the export's code, percent, when known.
    pub export_code_duty: Option<f64>,
    /// Importing-side duty rate of the declared import code, percent, when known.
    pub import_code_duty: Option<f64>,
}

impl HsComparison {
    /// A shift into a code of the same heading with a lower importing-side duty.
    pub fn lower_duty_sibling(&self) -> bool {
        self.common_digits == 4
            && matches!((self.export_code_duty, self.import_code_duty), (Some(x), Some(m)) if m < x)
    }
}

/// Importing-side duty rates per HS6, percent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tariff {
    rates: HashMap<String, f64>,
}

impl Tariff {
    /// A tariff from explicit (HS6, percent) pairs.
    pub fn from_rates(rates: impl IntoIterator<Item = (String, f64)>) -> Tariff {
        Tariff {
            rates: rates.into_iter().collect(),
        }
    }

    /// The effective rate per HS6 observed on `imports`: the median over goods lines of
    /// assessed duty / base, with the assessed amount converted to the base's currency
    /// at the acceptance date. Lines whose conversion fails are skipped (they are
    /// reported as issues by [`discrepancies`]).
    pub fn observed(imports: &[Leg], rates: &Rates) -> Tariff {
        let mut by_code: HashMap<&str, Vec<f64>> = HashMap::new();
        for leg in imports {
            for item in &leg.items {
                let (Some(code), Some(duty)) = (&item.hs6, &item.duty) else {
                    continue;
                };
                if duty.base <= 0.0 {
                    continue;
                }
                let assessed = match (&duty.currency, &item.currency) {
                    (Some(dc), Some(ic)) if dc != ic => {
                        let Ok(in_base) = rates.to_base(duty.assessed, Some(dc), leg.accepted)
                        else {
                            continue;
                        };
                        let Ok(per_item) = rates.per_base(ic, leg.accepted.unwrap_or_default())
                        else {
                            continue;
                        };
                        in_base * per_item
                    }
                    _ => duty.assessed,
                };
                by_code
                    .entry(code)
                    .or_default()
                    .push(assessed / duty.base * 100.0);
            }
        }
        Tariff {
            rates: by_code
                .into_iter()
                .map(|(code, mut v)| (code.to_owned(), crate::stats::median(&mut v)))
                .collect(),
        }
    }

    /// Rate of a code, percent.
    pub fn rate(&self, hs6: &str) -> Option<f64> {
        self.rates.get(hs6).copied()
    }

    /// Mean rate of the other codes under the same heading (Fisman–Wei's t̄_sib).
    pub fn sibling_mean(&self, hs6: &str) -> Option<f64> {
        let sib: Vec<f64> = self
            .rates
            .iter()
            .filter(|(c, _)| c.len() == 6 && c[..4] == hs6[..4.min(hs6.len())] && c.as_str() != hs6)
            .map(|(_, r)| *r)
            .collect();
        (!sib.is_empty()).then(|| sib.iter().sum::<f64>() / sib.len() as f64)
    }
}

/// The discrepancy vector of one link.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Discrepancy {
    /// X_FOB: export value in the comparison currency.
    pub export_fob: Option<f64>,
    /// M_CIF: import value including freight and insurance, comparison currency.
    pub import_cif: Option<f64>,
    /// f = M_CIF / FOB̂_M.
    pub cif_factor: Option<f64>,
    /// Where f came from.
    pub factor_source: Option<FactorSource>,
    /// FOB̂_M = M_CIF / f.
    pub import_fob: Option<f64>,
    /// g = ln(FOB̂_M) − ln(X_FOB).
    pub log_gap: Option<f64>,
    /// GFI quantity agreement a = 1 − |q_M − q_X| / max(q_M, q_X), on net mass.
    pub quantity_agreement: Option<f64>,
    /// GFI gap_w = (FOB̂_M − X_FOB) × a.
    pub weighted_gap: Option<f64>,
    /// ln(UV_M) − ln(UV_X) per kg.
    pub unit_value_gap_kg: Option<f64>,
    /// Relative net-mass gap (M − X) / X.
    pub net_mass_gap: Option<f64>,
    /// Relative gross-mass gap.
    pub gross_mass_gap: Option<f64>,
    /// Relative supplementary-quantity gap (same unit on both sides only).
    pub quantity_gap: Option<f64>,
    /// Relative package-count gap.
    pub packages_gap: Option<f64>,
    /// Per matched goods line.
    pub hs: Vec<HsComparison>,
    /// Origins on the export legs.
    pub export_origins: Vec<String>,
    /// Origins on the import legs.
    pub import_origins: Vec<String>,
    /// Routing countries on the export legs.
    pub export_routing: Vec<String>,
    /// Routing countries on the import legs.
    pub import_routing: Vec<String>,
    /// Exporter ↔ seller name similarity.
    pub exporter_similarity: Option<f64>,
    /// Importer/consignee name similarity.
    pub importer_similarity: Option<f64>,
    /// Days from the first export to the first import.
    pub date_gap_days: Option<i64>,
    /// The date gap is outside the mode window.
    pub outside_window: bool,
    /// Duty at risk = max(0, −g) × X_FOB × importing duty rate, comparison currency.
    pub duty_at_risk: Option<f64>,
    /// Problems met, per leg.
    pub issues: Vec<DataIssue>,
}

impl Discrepancy {
    /// Origins differ between the two sides.
    pub fn origin_changed(&self) -> bool {
        !self.export_origins.is_empty()
            && !self.import_origins.is_empty()
            && self.export_origins != self.import_origins
    }

    /// The import side routes through a country the export side does not.
    pub fn route_added(&self) -> Vec<&str> {
        self.import_routing
            .iter()
            .filter(|c| !self.export_routing.contains(c))
            .map(String::as_str)
            .collect()
    }
}

/// Everything discrepancies need besides the legs.
pub struct DiscrepancyContext<'a> {
    /// Rate table; its base is the comparison currency.
    pub rates: &'a Rates,
    /// Importing-side tariff.
    pub tariff: &'a Tariff,
    /// CIF/FOB factors.
    pub valuation: &'a ValuationConfig,
    /// Windows.
    pub link: &'a LinkConfig,
    /// Party-name comparer.
    pub names: &'a dyn NameSimilarity,
}

fn issue(leg: &Leg, code: &'static str, message: impl Into<String>) -> DataIssue {
    DataIssue {
        leg: leg.reference.clone(),
        code,
        message: message.into(),
    }
}

/// Sum of line values of `leg` in the comparison currency (None with issues when any
/// line cannot be valued).
fn leg_value(
    leg: &Leg,
    rates: &Rates,
    pick: impl Fn(&LegItem) -> Option<f64>,
    issues: &mut Vec<DataIssue>,
) -> Option<f64> {
    let mut total = 0.0;
    let mut ok = true;
    for item in &leg.items {
        let Some(v) = pick(item) else {
            issues.push(issue(
                leg,
                "MIRROR_VALUE_ABSENT",
                format!("goods item {} declares no value", item.sequence),
            ));
            ok = false;
            continue;
        };
        match rates.to_base(v, item.currency.as_deref(), leg.accepted.or(leg.date)) {
            Ok(x) => total += x,
            Err(e) => {
                issues.push(issue(
                    leg,
                    e.code(),
                    format!("goods item {}: {e}", item.sequence),
                ));
                ok = false;
            }
        }
    }
    (ok && !leg.items.is_empty()).then_some(total)
}

/// (M − X) / X, when X is positive.
pub(crate) fn relative_gap(x: Option<f64>, m: Option<f64>) -> Option<f64> {
    let (x, m) = (x?, m?);
    (x > 0.0).then(|| (m - x) / x)
}

fn sorted_unique(values: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = values.collect();
    v.sort();
    v.dedup();
    v
}

/// The normalised party names of a run's legs, one per distinct spelling, so that
/// discrepancies do not normalise two names on both sides of every link again.
#[derive(Default)]
pub(crate) struct NormalisedNames<'a> {
    map: FxMap<&'a str, String>,
}

impl<'a> NormalisedNames<'a> {
    /// The exporter and importer names of `legs`, normalised.
    pub(crate) fn of<'l: 'a>(
        legs: impl Iterator<Item = &'l Leg>,
        names: &dyn NameSimilarity,
    ) -> NormalisedNames<'a> {
        let mut map: FxMap<&'a str, String> = FxMap::default();
        for leg in legs {
            for raw in [&leg.exporter_name, &leg.importer_name]
                .into_iter()
                .flatten()
            {
                if !map.contains_key(raw.as_str()) {
                    map.insert(raw, names.normalise(raw));
                }
            }
        }
        NormalisedNames { map }
    }

    fn get<'s>(&'s self, raw: &str, names: &dyn NameSimilarity) -> Cow<'s, str> {
        match self.map.get(raw) {
            Some(n) => Cow::Borrowed(n),
            None => Cow::Owned(names.normalise(raw)),
        }
    }
}

/// The value and mass components of a link's discrepancy: CIF/FOB adjustment,
/// currency conversion, g, net and gross mass gaps, the GFI quantity agreement a and
/// gap_w, and the unit-value gap. The other components are left empty.
pub fn valuation(
    link: &Link,
    exports: &[Leg],
    imports: &[Leg],
    ctx: &DiscrepancyContext<'_>,
) -> Discrepancy {
    let xs: Vec<&Leg> = link.exports.iter().map(|&e| &exports[e]).collect();
    let ms: Vec<&Leg> = link.imports.iter().map(|&i| &imports[i]).collect();
    let mut issues = Vec::new();
    let mut d = value_and_mass(&xs, &ms, ctx, &mut issues);
    d.issues = issues;
    d
}

fn value_and_mass(
    xs: &[&Leg],
    ms: &[&Leg],
    ctx: &DiscrepancyContext<'_>,
    issues: &mut Vec<DataIssue>,
) -> Discrepancy {
    let mut d = Discrepancy::default();
    let issues = &mut *issues;
    // Value.
    let export_fob: Option<f64> = xs
        .iter()
        .map(|l| leg_value(l, ctx.rates, |i| i.value, issues))
        .sum();
    let mut totals = ImportTotals::new();
    for leg in ms {
        let transaction = leg_value(leg, ctx.rates, |i| i.value, issues);
        let freight = leg.freight.as_ref().and_then(|(amount, currency)| {
            match ctx
                .rates
                .to_base(*amount, currency.as_deref(), leg.accepted.or(leg.date))
            {
                Ok(v) => Some(v),
                Err(e) => {
                    issues.push(issue(leg, e.code(), format!("freight charge: {e}")));
                    None
                }
            }
        });
        totals.add(
            transaction,
            freight,
            || {
                leg_value(
                    leg,
                    ctx.rates,
                    |i| i.customs_value.or(i.value),
                    &mut Vec::new(),
                )
            },
            ctx.valuation.factor(leg.mode),
        );
    }
    totals.finish(&mut d, export_fob);

    // Quantities.
    let sum_mass = |legs: &[&Leg], f: fn(&Leg) -> Option<f64>, issues: &mut Vec<DataIssue>| {
        let mut total = Some(0.0);
        for leg in legs {
            match f(leg) {
                Some(v) => total = total.map(|t| t + v),
                None => {
                    issues.push(issue(
                        leg,
                        "MIRROR_MASS_ABSENT",
                        "a goods item declares no mass",
                    ));
                    total = None;
                }
            }
        }
        total
    };
    let x_net = sum_mass(xs, Leg::net_mass, issues);
    let m_net = sum_mass(ms, Leg::net_mass, issues);
    let x_gross = sum_mass(xs, Leg::gross_mass, &mut Vec::new());
    let m_gross = sum_mass(ms, Leg::gross_mass, &mut Vec::new());
    d.net_mass_gap = relative_gap(x_net, m_net);
    d.gross_mass_gap = relative_gap(x_gross, m_gross);
    if let (Some(x), Some(m)) = (x_net, m_net)
        && !mass_components(&mut d, x, m)
    {
        for leg in xs.iter().chain(ms) {
            issues.push(issue(leg, "MIRROR_QUANTITY_ZERO", "net mass is zero"));
        }
    }
    d
}

/// The import side's values summed leg by leg, and how each leg's CIF/FOB factor was
/// found.
pub(crate) struct ImportTotals {
    cif: Option<f64>,
    fob: Option<f64>,
    /// Legs valued with declared freight, and with the mode factor.
    counts: (usize, usize),
}

impl ImportTotals {
    pub(crate) fn new() -> ImportTotals {
        ImportTotals {
            cif: Some(0.0),
            fob: Some(0.0),
            counts: (0, 0),
        }
    }

    /// Adds an import leg: M_CIF = transaction value + declared freight and FOB̂_M =
    /// transaction value when both are known, else M_CIF = its CIF basis (`cif`:
    /// customs value, else transaction value) and FOB̂_M = M_CIF / the mode's factor.
    pub(crate) fn add(
        &mut self,
        transaction: Option<f64>,
        freight: Option<f64>,
        cif: impl FnOnce() -> Option<f64>,
        factor: f64,
    ) {
        let (cif, fob) = match (transaction, freight) {
            (Some(t), Some(f)) => {
                self.counts.0 += 1;
                (Some(t + f), Some(t))
            }
            _ => {
                self.counts.1 += 1;
                let cif = cif();
                (cif, cif.map(|c| c / factor))
            }
        };
        self.cif = self.cif.zip(cif).map(|(a, b)| a + b);
        self.fob = self.fob.zip(fob).map(|(a, b)| a + b);
    }

    /// Sets the value components that follow from the totals and `export_fob`: X_FOB,
    /// M_CIF, FOB̂_M, f and its source, and g.
    pub(crate) fn finish(self, d: &mut Discrepancy, export_fob: Option<f64>) {
        let has_imports = self.counts.0 + self.counts.1 > 0;
        d.export_fob = export_fob;
        d.import_cif = self.cif.filter(|_| has_imports);
        d.import_fob = self.fob.filter(|_| has_imports);
        d.factor_source = Some(match self.counts {
            (_, 0) => FactorSource::DeclaredFreight,
            (0, _) => FactorSource::ModeDefault,
            _ => FactorSource::Mixed,
        });
        d.cif_factor = d
            .import_cif
            .zip(d.import_fob)
            .filter(|(_, f)| *f > 0.0)
            .map(|(c, f)| c / f);
        d.log_gap = d
            .import_fob
            .zip(d.export_fob)
            .filter(|(m, x)| *m > 0.0 && *x > 0.0)
            .map(|(m, x)| m.ln() - x.ln());
    }
}

/// The components that follow from the summed net masses `x` (export) and `m`
/// (import): the GFI quantity agreement a, gap_w and the unit-value gap. False when
/// both masses are zero, a per-record problem the caller reports.
pub(crate) fn mass_components(d: &mut Discrepancy, x: f64, m: f64) -> bool {
    let hi = x.max(m);
    let nonzero = hi > 0.0;
    if nonzero {
        let a = 1.0 - (m - x).abs() / hi;
        d.quantity_agreement = Some(a);
        d.weighted_gap = d.import_fob.zip(d.export_fob).map(|(fm, fx)| (fm - fx) * a);
    }
    if x > 0.0 && m > 0.0 {
        d.unit_value_gap_kg = d
            .import_fob
            .zip(d.export_fob)
            .filter(|(fm, fx)| *fm > 0.0 && *fx > 0.0)
            .map(|(fm, fx)| (fm / m).ln() - (fx / x).ln());
    }
    nonzero
}

/// Computes the discrepancy vector of `link`.
pub fn discrepancy(
    link: &Link,
    exports: &[Leg],
    imports: &[Leg],
    ctx: &DiscrepancyContext<'_>,
) -> Discrepancy {
    discrepancy_with_names(
        link,
        exports,
        imports,
        ctx,
        &NormalisedNames::default(),
        None,
    )
}

/// [`discrepancy`] with the run's names normalised beforehand and, when given, the
/// run's columns for the value and mass components (same numbers, see
/// [`LegColumns::valuation`]).
pub(crate) fn discrepancy_with_names(
    link: &Link,
    exports: &[Leg],
    imports: &[Leg],
    ctx: &DiscrepancyContext<'_>,
    normalised: &NormalisedNames<'_>,
    columns: Option<(&LegColumns<'_>, &RateColumns)>,
) -> Discrepancy {
    let xs: Vec<&Leg> = link.exports.iter().map(|&e| &exports[e]).collect();
    let ms: Vec<&Leg> = link.imports.iter().map(|&i| &imports[i]).collect();
    let mut issues = Vec::new();
    let fast = columns.and_then(|(cols, rates)| cols.value_and_mass(link, rates, ctx.valuation));
    let mut d = fast.unwrap_or_else(|| value_and_mass(&xs, &ms, ctx, &mut issues));
    let packages = |legs: &[&Leg]| legs.iter().map(|l| l.packages()).sum::<Option<u64>>();
    d.packages_gap = relative_gap(
        packages(&xs).map(|p| p as f64),
        packages(&ms).map(|p| p as f64),
    );
    d.quantity_gap = supplementary_gap(&xs, &ms, &mut issues);

    // Classification: pair lines by equal HS6 first, then in order.
    let x_items: Vec<&LegItem> = xs.iter().flat_map(|l| &l.items).collect();
    let m_items: Vec<&LegItem> = ms.iter().flat_map(|l| &l.items).collect();
    let mut m_used = vec![false; m_items.len()];
    let mut x_left = Vec::new();
    for x in &x_items {
        let Some(code) = &x.hs6 else { continue };
        if let Some(j) =
            (0..m_items.len()).find(|&j| !m_used[j] && m_items[j].hs6.as_ref() == Some(code))
        {
            m_used[j] = true;
        } else {
            x_left.push(code);
        }
    }
    let mut m_left = (0..m_items.len()).filter(|&j| !m_used[j] && m_items[j].hs6.is_some());
    for x_code in x_left {
        let Some(j) = m_left.next() else { break };
        let m_code = m_items[j].hs6.clone().unwrap_or_default();
        let common = if x_code[..4] == m_code[..4] {
            4
        } else if x_code[..2] == m_code[..2] {
            2
        } else {
            0
        };
        d.hs.push(HsComparison {
            export_hs6: x_code.clone(),
            import_hs6: m_code.clone(),
            common_digits: common,
            export_code_duty: ctx.tariff.rate(x_code),
            import_code_duty: ctx.tariff.rate(&m_code),
        });
    }

    // Origin and route.
    d.export_origins = sorted_unique(x_items.iter().filter_map(|i| i.origin.clone()));
    d.import_origins = sorted_unique(m_items.iter().filter_map(|i| i.origin.clone()));
    d.export_routing = sorted_unique(xs.iter().flat_map(|l| l.routing.iter().cloned()));
    d.import_routing = sorted_unique(ms.iter().flat_map(|l| l.routing.iter().cloned()));

    // Parties.
    let sim = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => Some(
            ctx.names
                .similarity(&normalised.get(a, ctx.names), &normalised.get(b, ctx.names)),
        ),
        _ => None,
    };
    if let (Some(x), Some(m)) = (xs.first(), ms.first()) {
        d.exporter_similarity = sim(&x.exporter_name, &m.exporter_name);
        d.importer_similarity = sim(&x.importer_name, &m.importer_name);
        if let (Some(xd), Some(md)) = (x.date, m.date) {
            let gap = (md - xd).num_days();
            d.date_gap_days = Some(gap);
            let window = ctx.link.pair_window(x.mode, m.mode);
            d.outside_window = gap < window.0 || gap > window.1;
        }
    }

    // Duty at risk, on the importing side's rate of the declared code.
    let duty_rate = m_items
        .iter()
        .filter_map(|i| i.hs6.as_deref().and_then(|c| ctx.tariff.rate(c)))
        .next();
    d.duty_at_risk = d
        .log_gap
        .zip(d.export_fob)
        .zip(duty_rate)
        .map(|((g, x), t)| (-g).max(0.0) * x * t / 100.0);
    d.issues = issues;
    d
}

fn supplementary_gap(xs: &[&Leg], ms: &[&Leg], issues: &mut Vec<DataIssue>) -> Option<f64> {
    let total = |legs: &[&Leg], issues: &mut Vec<DataIssue>| -> Option<(f64, String)> {
        let mut unit: Option<&str> = None;
        let mut sum = 0.0;
        for leg in legs {
            for item in &leg.items {
                let Some((q, u)) = &item.quantity else {
                    issues.push(issue(
                        leg,
                        "MIRROR_QUANTITY_ABSENT",
                        format!("goods item {} declares no quantity", item.sequence),
                    ));
                    return None;
                };
                if *q <= 0.0 {
                    issues.push(issue(
                        leg,
                        "MIRROR_QUANTITY_ZERO",
                        format!("goods item {} declares quantity {q}", item.sequence),
                    ));
                    return None;
                }
                match unit {
                    Some(prev) if prev != u => return None,
                    _ => unit = Some(u),
                }
                sum += q;
            }
        }
        unit.map(|u| (sum, u.to_owned()))
    };
    let (x, xu) = total(xs, issues)?;
    let (m, mu) = total(ms, issues)?;
    if xu != mu {
        if let Some(leg) = ms.first() {
            issues.push(issue(
                leg,
                "MIRROR_UNIT_MISMATCH",
                format!("quantity in {mu} on the import side, {xu} on the export side"),
            ));
        }
        return None;
    }
    relative_gap(Some(x), Some(m))
}
