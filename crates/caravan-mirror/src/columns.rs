//! The columnar leg store: one direction's export and import legs laid out once, when
//! they are loaded, as arrays (struct of arrays), so that the exact tiers, the date window and the value
//! arithmetic read a few dense arrays instead of chasing the owned strings of every
//! [`Leg`].
//!
//! [`Leg`] stays the public input type (parsers, the store and the API build and read
//! it); the conversion happens here, on the machine's cores, when a direction's legs
//! are loaded ([`LegColumns::new`]), and the columns then serve every linkage and
//! valuation over those legs. What the columns hold, per leg: dates as days since the
//! Common Era, countries and currencies packed into `u64` codes (exact for codes of up
//! to 7 bytes, which every ISO code is; longer text falls back to comparing the
//! strings), net and gross mass, freight, and each tier's keys with their kind tags
//! and their text in one arena (linkage hashes them to 64 bits and confirms every hash
//! match on the text); per goods item: value, customs value and currency. [`RateColumns`] turns the rate table into
//! sorted `(day, rate)` arrays per currency code, so a conversion is a code compare and
//! a binary search instead of string maps.
//!
//! Valuation over the columns ([`LegColumns::valuation`]) gives exactly the numbers of
//! [`crate::discrepancy::valuation`]; a link with any per-record problem (missing rate,
//! unknown currency, absent value or mass, zero quantity) is handed to that function,
//! which names each problem, so the fast path never has to build messages.

use crate::columnar::{key_hash, parallel_ranges};
use crate::discrepancy::{
    Discrepancy, DiscrepancyContext, ImportTotals, ValuationConfig, mass_components, relative_gap,
};
use crate::leg::{Leg, Mode};
use crate::link::{Link, LinkConfig, Linkage};
use crate::rates::{MAX_STALENESS_DAYS, Rates};
use crate::similarity::NameSimilarity;

/// A leg or rate without a day.
pub(crate) const NO_DAY: i32 = i32::MIN;
/// Packed code of an absent text.
pub(crate) const ABSENT: u64 = u64::MAX;
/// Packed code of a text longer than 7 bytes: compare the strings themselves.
pub(crate) const LONG: u64 = u64::MAX - 1;

/// A short text packed into a `u64`: its bytes, little-endian, and its length in the
/// top byte. One code per text of up to 7 bytes, and never [`ABSENT`] or [`LONG`].
pub(crate) fn short_code(text: Option<&str>) -> u64 {
    match text {
        None => ABSENT,
        Some(s) if s.len() <= 7 => {
            // A byte loop rather than `copy_from_slice`, which calls `memcpy` for a
            // copy of two or three bytes.
            let mut code = (s.len() as u64) << 56;
            for (k, b) in s.bytes().enumerate() {
                code |= u64::from(b) << (8 * k);
            }
            code
        }
        Some(_) => LONG,
    }
}

/// Two country texts too long for a [`short_code`] are the same text.
#[cold]
#[inline(never)]
fn long_texts_equal(text: Option<&str>, other: &str) -> bool {
    text == Some(other)
}

/// Days since the Common Era, or [`NO_DAY`].
pub(crate) fn day_of(date: Option<chrono::NaiveDate>) -> i32 {
    use chrono::Datelike;
    date.map_or(NO_DAY, |d| d.num_days_from_ce())
}

/// `Some(v)` unless `v` is the NaN that stands for "not declared".
fn opt(v: f64) -> Option<f64> {
    (!v.is_nan()).then_some(v)
}

/// Calls `f(kind tag, key)` for each key of `leg` in `tier` (0: UCR and declaration
/// number, 1: transport documents and containers, 2: invoice), in the tier's order.
/// Tags: 0 UCR, 1 declaration number, 2 transport document, 3 container, 4 invoice.
pub(crate) fn each_key<'l>(
    leg: &'l Leg,
    tier: usize,
    export_side: bool,
    mut f: impl FnMut(u8, &'l str),
) {
    match tier {
        0 => {
            if let Some(u) = &leg.ucr {
                f(0, u);
            }
            if export_side {
                // The export's own number, as an import would quote it.
                if let Some(m) = &leg.mrn {
                    f(1, m);
                }
            } else {
                for d in &leg.previous_docs {
                    f(1, d);
                }
            }
        }
        1 => {
            for d in &leg.transport_docs {
                f(2, d);
            }
            for c in &leg.containers {
                f(3, c);
            }
        }
        _ => {
            if let Some(i) = &leg.invoice {
                f(4, i);
            }
        }
    }
}

/// One tier's keys of one side: leg `k` owns keys `start[k]..start[k + 1]`; key `j`
/// has a kind tag and its text in one arena, both read from one word (`meta[j]`: the
/// end of its text in the low 56 bits, its tag in the top byte; its text starts where
/// key `j - 1`'s ends), so that confirming a match or quoting the key as evidence reads
/// two dense arrays instead of the owned strings of a [`Leg`]. The store holds no
/// hashes: a linkage run hashes the keys itself, as a database hashes the join column
/// in the query rather than at load.
#[derive(Debug)]
pub(crate) struct TierKeys {
    pub(crate) start: Vec<u32>,
    meta: Vec<u64>,
    text: String,
}

/// Bits of [`TierKeys::meta`] that hold the end of a key's text.
const END_BITS: u32 = 56;
const END_MASK: u64 = (1 << END_BITS) - 1;

impl TierKeys {
    fn with_capacity(legs: usize, keys: usize, bytes: usize) -> TierKeys {
        let mut start = Vec::with_capacity(legs + 1);
        start.push(0);
        TierKeys {
            start,
            meta: Vec::with_capacity(keys),
            text: String::with_capacity(bytes),
        }
    }

    /// The keys of leg `k`.
    #[inline]
    pub(crate) fn of(&self, k: usize) -> std::ops::Range<usize> {
        self.start[k] as usize..self.start[k + 1] as usize
    }

    /// Number of keys.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.meta.len()
    }

    /// The kind tag of key `j` (see [`each_key`]).
    #[inline]
    pub(crate) fn tag(&self, j: usize) -> u8 {
        (self.meta[j] >> END_BITS) as u8
    }

    /// The kind tag and the text of key `j`.
    #[inline]
    pub(crate) fn key(&self, j: usize) -> (u8, &str) {
        let from = if j == 0 {
            0
        } else {
            (self.meta[j - 1] & END_MASK) as usize
        };
        let meta = self.meta[j];
        (
            (meta >> END_BITS) as u8,
            &self.text[from..(meta & END_MASK) as usize],
        )
    }

    /// The text of key `j`.
    #[inline]
    pub(crate) fn text(&self, j: usize) -> &str {
        self.key(j).1
    }

    /// The 64-bit hash of key `j` (kind and text; see [`key_hash`]).
    #[inline]
    pub(crate) fn hash(&self, j: usize) -> u64 {
        let (tag, text) = self.key(j);
        key_hash(tag, text)
    }

    /// Bytes held on the heap.
    fn heap_bytes(&self) -> usize {
        self.start.capacity() * 4 + self.meta.capacity() * 8 + self.text.capacity()
    }

    fn push_leg(&mut self, leg: &Leg, tier: usize, export_side: bool) {
        each_key(leg, tier, export_side, |tag, key| {
            self.text.push_str(key);
            self.meta
                .push(self.text.len() as u64 | u64::from(tag) << END_BITS);
        });
        self.start.push(self.meta.len() as u32);
    }

    fn append(&mut self, other: TierKeys) {
        let keys = self.meta.len() as u32;
        let bytes = self.text.len() as u64;
        self.start.extend(other.start[1..].iter().map(|s| s + keys));
        // Tags sit above the end, so adding to the whole word moves the end alone.
        self.meta.extend(other.meta.iter().map(|m| m + bytes));
        self.text.push_str(&other.text);
    }
}

/// Keys of `leg` in each tier, and their bytes.
fn key_counts(leg: &Leg, export_side: bool) -> [(usize, usize); 3] {
    [0, 1, 2].map(|tier| {
        let (mut keys, mut bytes) = (0, 0);
        each_key(leg, tier, export_side, |_, key| {
            keys += 1;
            bytes += key.len();
        });
        (keys, bytes)
    })
}

/// One side's legs as columns; NaN stands for an undeclared amount.
#[derive(Debug)]
pub(crate) struct SideColumns {
    /// Linkage date ([`Leg::date`]) in days, or [`NO_DAY`].
    pub(crate) day: Vec<i32>,
    /// Conversion date (acceptance, else the linkage date), or [`NO_DAY`].
    pub(crate) value_day: Vec<i32>,
    pub(crate) mode: Vec<Mode>,
    /// [`short_code`] of the reporting country.
    pub(crate) reporter: Vec<u64>,
    /// [`short_code`] of the partner country.
    pub(crate) partner: Vec<u64>,
    /// [`Leg::net_mass`].
    pub(crate) net: Vec<f64>,
    /// [`Leg::gross_mass`].
    pub(crate) gross: Vec<f64>,
    pub(crate) freight: Vec<f64>,
    pub(crate) freight_currency: Vec<u64>,
    /// Leg `k` owns goods items `item_start[k]..item_start[k + 1]`.
    pub(crate) item_start: Vec<usize>,
    pub(crate) item_value: Vec<f64>,
    pub(crate) item_customs: Vec<f64>,
    pub(crate) item_currency: Vec<u64>,
    /// Keys of the three exact tiers.
    pub(crate) keys: [TierKeys; 3],
}

impl SideColumns {
    /// Empty columns with room for `legs` legs, `items` goods items and `keys` keys
    /// (count, bytes) per tier, so that filling them never moves them.
    fn with_capacity(legs: usize, items: usize, keys: [(usize, usize); 3]) -> SideColumns {
        let mut item_start = Vec::with_capacity(legs + 1);
        item_start.push(0);
        SideColumns {
            day: Vec::with_capacity(legs),
            value_day: Vec::with_capacity(legs),
            mode: Vec::with_capacity(legs),
            reporter: Vec::with_capacity(legs),
            partner: Vec::with_capacity(legs),
            net: Vec::with_capacity(legs),
            gross: Vec::with_capacity(legs),
            freight: Vec::with_capacity(legs),
            freight_currency: Vec::with_capacity(legs),
            item_start,
            item_value: Vec::with_capacity(items),
            item_customs: Vec::with_capacity(items),
            item_currency: Vec::with_capacity(items),
            keys: keys.map(|(k, bytes)| TierKeys::with_capacity(legs, k, bytes)),
        }
    }

    fn legs(&self) -> usize {
        self.day.len()
    }

    fn push(&mut self, leg: &Leg, export_side: bool) {
        self.day.push(day_of(leg.date));
        self.value_day.push(day_of(leg.accepted.or(leg.date)));
        self.mode.push(leg.mode);
        self.reporter
            .push(short_code(Some(leg.reference.reporter.as_str())));
        self.partner.push(short_code(leg.partner.as_deref()));
        self.net.push(leg.net_mass().unwrap_or(f64::NAN));
        self.gross.push(leg.gross_mass().unwrap_or(f64::NAN));
        let (freight, currency) = leg
            .freight
            .as_ref()
            .map_or((f64::NAN, ABSENT), |(f, c)| (*f, short_code(c.as_deref())));
        self.freight.push(freight);
        self.freight_currency.push(currency);
        for item in &leg.items {
            self.item_value.push(item.value.unwrap_or(f64::NAN));
            self.item_customs
                .push(item.customs_value.unwrap_or(f64::NAN));
            self.item_currency
                .push(short_code(item.currency.as_deref()));
        }
        self.item_start.push(self.item_value.len());
        for (tier, keys) in self.keys.iter_mut().enumerate() {
            keys.push_leg(leg, tier, export_side);
        }
    }

    fn append(&mut self, other: SideColumns) {
        let items = self.item_value.len();
        self.day.extend(other.day);
        self.value_day.extend(other.value_day);
        self.mode.extend(other.mode);
        self.reporter.extend(other.reporter);
        self.partner.extend(other.partner);
        self.net.extend(other.net);
        self.gross.extend(other.gross);
        self.freight.extend(other.freight);
        self.freight_currency.extend(other.freight_currency);
        self.item_start
            .extend(other.item_start[1..].iter().map(|s| s + items));
        self.item_value.extend(other.item_value);
        self.item_customs.extend(other.item_customs);
        self.item_currency.extend(other.item_currency);
        for (keys, more) in self.keys.iter_mut().zip(other.keys) {
            keys.append(more);
        }
    }

    /// The columns of `legs`, built in contiguous chunks on the machine's cores and
    /// concatenated in order.
    fn of(legs: &[Leg], export_side: bool) -> SideColumns {
        let mut chunks = parallel_ranges(legs.len(), 16_384, |range| {
            let legs = &legs[range];
            let mut items = 0;
            let mut keys = [(0, 0); 3];
            for leg in legs {
                items += leg.items.len();
                for (total, n) in keys.iter_mut().zip(key_counts(leg, export_side)) {
                    total.0 += n.0;
                    total.1 += n.1;
                }
            }
            let mut side = SideColumns::with_capacity(legs.len(), items, keys);
            for leg in legs {
                side.push(leg, export_side);
            }
            vec![side]
        });
        if chunks.len() == 1 {
            return chunks
                .pop()
                .unwrap_or_else(|| SideColumns::with_capacity(0, 0, [(0, 0); 3]));
        }
        let total = |f: &dyn Fn(&SideColumns) -> usize| chunks.iter().map(f).sum::<usize>();
        let mut all = SideColumns::with_capacity(
            total(&SideColumns::legs),
            total(&|c| c.item_value.len()),
            [0, 1, 2].map(|t| {
                (
                    total(&|c| c.keys[t].len()),
                    total(&|c| c.keys[t].text.len()),
                )
            }),
        );
        for chunk in chunks {
            all.append(chunk);
        }
        all
    }

    /// Bytes held on the heap.
    fn heap_bytes(&self) -> usize {
        let legs = self.day.capacity() * 4
            + self.value_day.capacity() * 4
            + self.mode.capacity() * std::mem::size_of::<Mode>()
            + (self.reporter.capacity() + self.partner.capacity()) * 8
            + (self.net.capacity() + self.gross.capacity() + self.freight.capacity()) * 8
            + self.freight_currency.capacity() * 8
            + self.item_start.capacity() * std::mem::size_of::<usize>();
        let items = (self.item_value.capacity()
            + self.item_customs.capacity()
            + self.item_currency.capacity())
            * 8;
        legs + items + self.keys.iter().map(TierKeys::heap_bytes).sum::<usize>()
    }

    /// Net mass of leg `k`.
    #[inline]
    pub(crate) fn net_mass(&self, k: usize) -> Option<f64> {
        opt(self.net[k])
    }
}

/// One direction's legs as columns, built once when they are loaded: the input of the
/// exact tiers, the fuzzy tier's masses and the value arithmetic.
#[derive(Debug)]
pub struct LegColumns<'l> {
    pub(crate) exports: &'l [Leg],
    pub(crate) imports: &'l [Leg],
    pub(crate) x: SideColumns,
    pub(crate) m: SideColumns,
}

impl<'l> LegColumns<'l> {
    /// The columns of `exports` (filed in one country) and `imports` (filed in the
    /// partner country), both sides at once on the machine's cores.
    pub fn new(exports: &'l [Leg], imports: &'l [Leg]) -> LegColumns<'l> {
        let (x, m) = std::thread::scope(|scope| {
            let x = scope.spawn(|| SideColumns::of(exports, true));
            let m = SideColumns::of(imports, false);
            let x = x
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (x, m)
        });
        LegColumns {
            exports,
            imports,
            x,
            m,
        }
    }

    /// Bytes the columns hold on the heap (the legs they borrow not included).
    pub fn heap_bytes(&self) -> usize {
        self.x.heap_bytes() + self.m.heap_bytes()
    }

    /// The export legs.
    pub fn exports(&self) -> &'l [Leg] {
        self.exports
    }

    /// The import legs.
    pub fn imports(&self) -> &'l [Leg] {
        self.imports
    }

    /// Links the exports to the imports ([`crate::link::link`] over these columns).
    pub fn link(&self, names: &dyn NameSimilarity, config: &LinkConfig) -> Linkage {
        crate::link::link_columns(self, names, config)
    }

    /// Export `e` and import `i` name each other's country, or leave it undeclared;
    /// `m_reporter` and `m_partner` are import `i`'s codes (`m.reporter[i]`,
    /// `m.partner[i]`), passed in by a caller that holds them nearer at hand.
    #[inline]
    pub(crate) fn partners_consistent_with(
        &self,
        e: usize,
        i: usize,
        m_reporter: u64,
        m_partner: u64,
    ) -> bool {
        // The codes decide unless both are the same text too long for a code; only then
        // are the legs read (a branch of its own, so that the hot path never touches
        // them).
        let same = |code: u64, other: u64| -> Option<bool> {
            if code == ABSENT {
                Some(true)
            } else if code != other {
                Some(false)
            } else if code != LONG {
                Some(true)
            } else {
                None
            }
        };
        let export_side = same(self.x.partner[e], m_reporter).unwrap_or_else(|| {
            long_texts_equal(
                self.exports[e].partner.as_deref(),
                &self.imports[i].reference.reporter,
            )
        });
        export_side
            && same(m_partner, self.x.reporter[e]).unwrap_or_else(|| {
                long_texts_equal(
                    self.imports[i].partner.as_deref(),
                    &self.exports[e].reference.reporter,
                )
            })
    }

    /// The value and mass components of `link`'s discrepancy (those of
    /// [`crate::discrepancy::valuation`], with the same numbers), computed over the
    /// columns; a link with any per-record problem goes through the leg-by-leg path,
    /// which reports each problem.
    pub fn valuation(
        &self,
        link: &Link,
        rates: &RateColumns,
        ctx: &DiscrepancyContext<'_>,
    ) -> Discrepancy {
        self.value_and_mass(link, rates, ctx.valuation)
            .unwrap_or_else(|| crate::discrepancy::valuation(link, self.exports, self.imports, ctx))
    }

    /// Sum of the item amounts of leg `k` of `side` in the base currency; `None` when
    /// an item has no amount or cannot be converted (the slow path reports why).
    fn leg_value(
        side: &SideColumns,
        k: usize,
        rates: &RateColumns,
        amount: impl Fn(usize) -> f64,
    ) -> Option<f64> {
        let mut total = 0.0;
        let day = side.value_day[k];
        for j in side.item_start[k]..side.item_start[k + 1] {
            let v = amount(j);
            if v.is_nan() {
                return None;
            }
            total += rates.to_base(v, side.item_currency[j], day)?;
        }
        Some(total)
    }

    /// The fast valuation: `None` as soon as a record has a problem to report.
    pub(crate) fn value_and_mass(
        &self,
        link: &Link,
        rates: &RateColumns,
        valuation: &ValuationConfig,
    ) -> Option<Discrepancy> {
        let (x, m) = (&self.x, &self.m);
        let mut d = Discrepancy::default();
        // A leg without items values to None without an issue.
        let valued = |side: &SideColumns, k: usize, amount: &dyn Fn(usize) -> f64| {
            if side.item_start[k] == side.item_start[k + 1] {
                return Some(None);
            }
            Self::leg_value(side, k, rates, amount).map(Some)
        };
        let mut export_fob = Some(0.0);
        for &e in &link.exports {
            let v = valued(x, e, &|j| x.item_value[j])?;
            export_fob = export_fob.zip(v).map(|(a, b)| a + b);
        }
        let mut totals = ImportTotals::new();
        for &i in &link.imports {
            let transaction = valued(m, i, &|j| m.item_value[j])?;
            let freight = match opt(m.freight[i]) {
                Some(amount) => {
                    Some(rates.to_base(amount, m.freight_currency[i], m.value_day[i])?)
                }
                None => None,
            };
            let customs_else_value = |j: usize| {
                let customs = m.item_customs[j];
                if customs.is_nan() {
                    m.item_value[j]
                } else {
                    customs
                }
            };
            totals.add(
                transaction,
                freight,
                || {
                    // A leg without items has no CIF basis, and no issue either.
                    (m.item_start[i] != m.item_start[i + 1])
                        .then(|| Self::leg_value(m, i, rates, customs_else_value))
                        .flatten()
                },
                valuation.factor(m.mode[i]),
            );
        }
        totals.finish(&mut d, export_fob);

        // Masses: an absent net mass is a record problem; gross mass is optional.
        let sum = |legs: &[usize], column: &[f64]| -> Option<f64> {
            let mut total = Some(0.0);
            for &k in legs {
                total = total.zip(opt(column[k])).map(|(t, v)| t + v);
            }
            total
        };
        let x_net = sum(&link.exports, &x.net)?;
        let m_net = sum(&link.imports, &m.net)?;
        let x_gross = sum(&link.exports, &x.gross);
        let m_gross = sum(&link.imports, &m.gross);
        d.net_mass_gap = relative_gap(Some(x_net), Some(m_net));
        d.gross_mass_gap = relative_gap(x_gross, m_gross);
        // Zero net mass on both sides is reported per record by the slow path.
        mass_components(&mut d, x_net, m_net).then_some(d)
    }
}

/// The rate table as arrays: per currency code, its `(day, units per base)` rates
/// sorted by day. Built once per run from [`Rates`].
#[derive(Debug, Clone)]
pub struct RateColumns {
    base: u64,
    by_currency: Vec<(u64, Vec<(i32, f64)>)>,
}

impl RateColumns {
    /// The columns of `rates`. Currencies that are not ISO 4217 are left out, since
    /// [`Rates::per_base`] refuses them before looking at the table.
    pub fn of(rates: &Rates) -> RateColumns {
        let mut by_currency: Vec<(u64, Vec<(i32, f64)>)> = rates
            .tables()
            .filter(|(currency, _)| {
                caravan_domain::refdata::currencies()
                    .get(currency)
                    .is_some()
            })
            .map(|(currency, table)| {
                (
                    short_code(Some(currency)),
                    table
                        .iter()
                        .map(|(date, rate)| (day_of(Some(*date)), *rate))
                        .collect(),
                )
            })
            .filter(|(code, _)| *code != LONG)
            .collect();
        by_currency.sort_unstable_by_key(|c| c.0);
        RateColumns {
            base: short_code(Some(rates.base())),
            by_currency,
        }
    }

    /// `amount` in `currency` (a [`short_code`]) on `day`, in the base currency, as
    /// [`Rates::to_base`] computes it; `None` wherever that returns an error.
    #[inline]
    pub(crate) fn to_base(&self, amount: f64, currency: u64, day: i32) -> Option<f64> {
        if currency == ABSENT || currency == LONG {
            return None;
        }
        if currency == self.base {
            return Some(amount);
        }
        if day == NO_DAY {
            return None;
        }
        let (_, table) = self.by_currency.iter().find(|c| c.0 == currency)?;
        let after = table.partition_point(|r| r.0 <= day);
        let (rate_day, rate) = table.get(after.checked_sub(1)?)?;
        (i64::from(day) - i64::from(*rate_day) <= MAX_STALENESS_DAYS).then(|| amount / rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_codes_are_exact_up_to_seven_bytes() {
        assert_eq!(short_code(Some("US")), short_code(Some("US")));
        assert_ne!(short_code(Some("US")), short_code(Some("USD")));
        assert_ne!(short_code(Some("")), short_code(None));
        assert_ne!(short_code(Some("U")), short_code(Some("U\0")));
        assert_eq!(short_code(Some("EIGHTBYT")), LONG);
        assert_ne!(short_code(Some("SEVENBY")), LONG);
    }

    fn leg(reporter: &str, flow: crate::leg::Flow, currency: &str, net: Option<f64>) -> Leg {
        let date = chrono::NaiveDate::from_ymd_opt(2024, 3, 1);
        Leg {
            reference: crate::leg::LegRef {
                reporter: reporter.into(),
                declarant: String::new(),
                lrn: format!("{reporter}-1"),
            },
            mrn: None,
            flow,
            partner: None,
            date,
            accepted: date,
            mode: Mode::Sea,
            ucr: None,
            transport_docs: Vec::new(),
            containers: Vec::new(),
            invoice: None,
            previous_docs: Vec::new(),
            exporter_name: None,
            importer_name: None,
            consignee_name: None,
            routing: Vec::new(),
            dispatch: None,
            destination: None,
            freight: None,
            items: vec![crate::leg::LegItem {
                sequence: 1,
                hs6: Some("520100".into()),
                origin: None,
                net_mass: net,
                gross_mass: None,
                quantity: None,
                packages: None,
                value: Some(1_000.0),
                customs_value: None,
                currency: Some(currency.into()),
                duty: None,
            }],
        }
    }

    #[test]
    fn clean_links_take_the_fast_path_and_bad_ones_do_not() {
        use crate::leg::Flow;
        let link = Link {
            exports: vec![0],
            imports: vec![0],
            tier: crate::link::Tier::SharedReference,
            confidence: 0.99,
            evidence: Vec::new(),
        };
        let rates = RateColumns::of(&Rates::empty("USD"));
        let config = ValuationConfig::default();
        let clean = (
            [leg("US", Flow::Export, "USD", Some(10.0))],
            [leg("UZ", Flow::Import, "USD", Some(12.0))],
        );
        let columns = LegColumns::new(&clean.0, &clean.1);
        let d = columns.value_and_mass(&link, &rates, &config);
        let d = d.expect("a clean link is valued over the columns");
        assert_eq!(d.export_fob, Some(1_000.0));
        assert_eq!(d.import_fob, Some(1_000.0 / 1.08));
        assert_eq!(d.quantity_agreement, Some(1.0 - 2.0 / 12.0));
        // No rate for UZS, no net mass, zero masses: each goes to the reporting path.
        for (currency, net) in [("UZS", Some(12.0)), ("USD", None), ("USD", Some(0.0))] {
            let bad = (
                [leg("US", Flow::Export, "USD", net.map(|_| 0.0))],
                [leg("UZ", Flow::Import, currency, net)],
            );
            let columns = LegColumns::new(&bad.0, &bad.1);
            assert!(columns.value_and_mass(&link, &rates, &config).is_none());
        }
    }

    #[test]
    fn rate_columns_answer_like_the_rate_table() {
        let mut rates = Rates::empty("USD");
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        rates.insert("UZS", d("2024-01-05"), 12_500.0);
        rates.insert("UZS", d("2024-01-10"), 12_600.0);
        rates.insert("XXQ", d("2024-01-05"), 2.0);
        let cols = RateColumns::of(&rates);
        for day in 0..30 {
            let date = d("2024-01-01") + chrono::Duration::days(day);
            for currency in ["UZS", "USD", "XXQ", "EUR"] {
                let slow = rates.to_base(1_000.0, Some(currency), Some(date)).ok();
                let fast = cols.to_base(1_000.0, short_code(Some(currency)), day_of(Some(date)));
                assert_eq!(fast, slow, "{currency} on {date}");
            }
        }
        assert_eq!(cols.to_base(1.0, short_code(Some("UZS")), NO_DAY), None);
        assert_eq!(cols.to_base(5.0, ABSENT, 700_000), None);
    }
}
