//! The exchange-rate table: parsed from CSV with an error per bad record, looked up by
//! currency and date.
//!
//! Values are compared in one currency (USD by default) "at the rate of the import
//! acceptance date from the rate table the node is configured with; a missing rate is an
//! error, not a silent zero" (`spec/analytics.md`, CIF/FOB adjustment). The table comes
//! from the node's configuration as bytes; this module only parses and looks up.
//!
//! Format (RFC 4180, header required, columns in any order):
//!
//! ```text
//! date,currency,per_usd
//! 2024-01-02,UZS,12345.67
//! ```
//!
//! `per_usd` is units of `currency` for one unit of the table's base currency (the base
//! is named by the `per_<base>` column, e.g. `per_eur`). A lookup takes the latest rate
//! on or before the date, at most [`MAX_STALENESS_DAYS`] old (central banks skip
//! weekends and holidays); anything older is missing, not guessed.

use std::collections::BTreeMap;
use std::collections::HashMap;

use caravan_domain::refdata::currencies;
use chrono::{Datelike, NaiveDate};

/// A rate older than this many days does not answer a lookup.
pub const MAX_STALENESS_DAYS: i64 = 7;

/// Stable codes of rate-table record errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateErrorCode {
    /// The header lacks `date`, `currency` or a `per_<base>` column.
    Header,
    /// A record has the wrong number of fields or broken quoting.
    Record,
    /// The date is not ISO 8601 `YYYY-MM-DD`.
    Date,
    /// The currency is not an ISO 4217 code.
    Currency,
    /// The rate is not a positive finite number.
    Value,
    /// The same (currency, date) appears twice with different rates.
    Duplicate,
}

impl RateErrorCode {
    /// Stable upper-case code.
    pub fn as_str(self) -> &'static str {
        match self {
            RateErrorCode::Header => "RATE_HEADER",
            RateErrorCode::Record => "RATE_RECORD",
            RateErrorCode::Date => "RATE_DATE",
            RateErrorCode::Currency => "RATE_CURRENCY",
            RateErrorCode::Value => "RATE_VALUE",
            RateErrorCode::Duplicate => "RATE_DUPLICATE",
        }
    }
}

/// One rejected record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateError {
    /// 1-based line of the record (1 is the header).
    pub line: u64,
    /// What is wrong.
    pub code: RateErrorCode,
    /// Human-readable detail with the offending value.
    pub message: String,
}

impl std::fmt::Display for RateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: {}: {}",
            self.line,
            self.code.as_str(),
            self.message
        )
    }
}

/// Exchange rates against one base currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Rates {
    base: String,
    by_currency: HashMap<String, BTreeMap<NaiveDate, f64>>,
}

/// Why a conversion has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversionError {
    /// The currency is not ISO 4217.
    UnknownCurrency(String),
    /// No rate for the currency within [`MAX_STALENESS_DAYS`] before the date.
    MissingRate {
        /// Currency without a rate.
        currency: String,
        /// Date asked for.
        date: NaiveDate,
    },
    /// The amount has no currency at all.
    NoCurrency,
    /// The amount has no date to convert at.
    NoDate,
}

impl ConversionError {
    /// Stable code, reported per record.
    pub fn code(&self) -> &'static str {
        match self {
            ConversionError::UnknownCurrency(_) => "MIRROR_CURRENCY_UNKNOWN",
            ConversionError::MissingRate { .. } => "MIRROR_RATE_MISSING",
            ConversionError::NoCurrency => "MIRROR_CURRENCY_MISSING",
            ConversionError::NoDate => "MIRROR_DATE_MISSING",
        }
    }
}

impl std::fmt::Display for ConversionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConversionError::UnknownCurrency(c) => write!(f, "{c:?} is not an ISO 4217 currency"),
            ConversionError::MissingRate { currency, date } => write!(
                f,
                "no {currency} rate on or up to {MAX_STALENESS_DAYS} days before {date}"
            ),
            ConversionError::NoCurrency => f.write_str("amount declared without a currency"),
            ConversionError::NoDate => f.write_str("no date to convert the amount at"),
        }
    }
}

impl Rates {
    /// A table with no rates: only amounts already in `base` convert.
    pub fn empty(base: &str) -> Rates {
        Rates {
            base: base.to_owned(),
            by_currency: HashMap::new(),
        }
    }

    /// The base currency.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Number of (currency, date) rates.
    pub fn len(&self) -> usize {
        self.by_currency.values().map(BTreeMap::len).sum()
    }

    /// True when the table has no rate.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each currency's rates by date (for [`crate::columns::RateColumns`]).
    pub(crate) fn tables(&self) -> impl Iterator<Item = (&str, &BTreeMap<NaiveDate, f64>)> {
        self.by_currency.iter().map(|(c, t)| (c.as_str(), t))
    }

    /// Adds or replaces one rate (units of `currency` per unit of the base).
    pub fn insert(&mut self, currency: &str, date: NaiveDate, per_base: f64) {
        self.by_currency
            .entry(currency.to_owned())
            .or_default()
            .insert(date, per_base);
    }

    /// Sets one rate for every day from `from` to `to` inclusive (a pegged or
    /// illustrative rate, such as the corridor generator's fixed UZS rate).
    pub fn insert_constant(
        &mut self,
        currency: &str,
        per_base: f64,
        from: NaiveDate,
        to: NaiveDate,
    ) {
        let mut day = from;
        while day <= to {
            self.insert(currency, day, per_base);
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
    }

    /// Parses a rate table. Good records are kept and every bad one is reported; a
    /// header error rejects the whole table (nothing else can be read).
    pub fn parse_csv(bytes: &[u8]) -> Result<(Rates, Vec<RateError>), RateError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let header_error = |message: String| RateError {
            line: 1,
            code: RateErrorCode::Header,
            message,
        };
        let headers = reader
            .headers()
            .map_err(|e| header_error(format!("unreadable header: {e}")))?
            .clone();
        let find = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        let date_idx = find("date").ok_or_else(|| header_error("no `date` column".into()))?;
        let currency_idx =
            find("currency").ok_or_else(|| header_error("no `currency` column".into()))?;
        let (rate_idx, base) = headers
            .iter()
            .enumerate()
            .find_map(|(i, h)| {
                let lower = h.to_ascii_lowercase();
                let base = lower.strip_prefix("per_")?;
                (base.len() == 3).then(|| (i, base.to_ascii_uppercase()))
            })
            .ok_or_else(|| header_error("no `per_<base>` column, e.g. `per_usd`".into()))?;
        if currencies().get(&base).is_none() {
            return Err(header_error(format!(
                "base {base:?} is not an ISO 4217 currency"
            )));
        }
        let mut rates = Rates::empty(&base);
        let mut errors = Vec::new();
        for (n, record) in reader.records().enumerate() {
            let line = record
                .as_ref()
                .ok()
                .and_then(|r| r.position())
                .map_or(n as u64 + 2, |p| p.line());
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    errors.push(RateError {
                        line,
                        code: RateErrorCode::Record,
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            if record.iter().all(str::is_empty) {
                continue;
            }
            let field = |i: usize| record.get(i).unwrap_or("");
            if record.len() != headers.len() {
                errors.push(RateError {
                    line,
                    code: RateErrorCode::Record,
                    message: format!("{} fields, the header has {}", record.len(), headers.len()),
                });
                continue;
            }
            let parsed = NaiveDate::parse_from_str(field(date_idx), "%Y-%m-%d")
                .ok()
                .filter(|d| (1900..=2999).contains(&d.year()));
            let Some(date) = parsed else {
                errors.push(RateError {
                    line,
                    code: RateErrorCode::Date,
                    message: format!(
                        "{:?} is not a YYYY-MM-DD date between 1900 and 2999",
                        field(date_idx)
                    ),
                });
                continue;
            };
            let currency = field(currency_idx).to_ascii_uppercase();
            if currency.len() != 3 || currencies().get(&currency).is_none() {
                errors.push(RateError {
                    line,
                    code: RateErrorCode::Currency,
                    message: format!("{:?} is not an ISO 4217 currency", field(currency_idx)),
                });
                continue;
            }
            let value = match field(rate_idx).parse::<f64>() {
                Ok(v) if v.is_finite() && v > 0.0 => v,
                _ => {
                    errors.push(RateError {
                        line,
                        code: RateErrorCode::Value,
                        message: format!("{:?} is not a positive number", field(rate_idx)),
                    });
                    continue;
                }
            };
            if let Some(previous) = rates.by_currency.get(&currency).and_then(|m| m.get(&date))
                && *previous != value
            {
                errors.push(RateError {
                    line,
                    code: RateErrorCode::Duplicate,
                    message: format!("{currency} on {date} already has rate {previous}"),
                });
                continue;
            }
            rates.insert(&currency, date, value);
        }
        Ok((rates, errors))
    }

    /// The table as CSV in the format [`Rates::parse_csv`] reads, sorted by currency and
    /// date; rates are written in Rust's shortest round-trip form, so parsing the result
    /// gives this table again.
    pub fn to_csv(&self) -> String {
        let mut out = format!("date,currency,per_{}\n", self.base.to_ascii_lowercase());
        let mut currencies: Vec<&String> = self.by_currency.keys().collect();
        currencies.sort();
        for currency in currencies {
            for (date, rate) in &self.by_currency[currency] {
                out.push_str(&format!("{date},{currency},{rate}\n"));
            }
        }
        out
    }

    /// Units of `currency` per unit of the base on `date` (latest rate on or before it,
    /// within [`MAX_STALENESS_DAYS`]).
    pub fn per_base(&self, currency: &str, date: NaiveDate) -> Result<f64, ConversionError> {
        if currency == self.base {
            return Ok(1.0);
        }
        if currencies().get(currency).is_none() {
            return Err(ConversionError::UnknownCurrency(currency.to_owned()));
        }
        self.by_currency
            .get(currency)
            .and_then(|m| m.range(..=date).next_back())
            .filter(|(d, _)| (date - **d).num_days() <= MAX_STALENESS_DAYS)
            .map(|(_, r)| *r)
            .ok_or(ConversionError::MissingRate {
                currency: currency.to_owned(),
                date,
            })
    }

    /// `amount` of `currency` on `date`, in the base currency.
    pub fn to_base(
        &self,
        amount: f64,
        currency: Option<&str>,
        date: Option<NaiveDate>,
    ) -> Result<f64, ConversionError> {
        let currency = currency.ok_or(ConversionError::NoCurrency)?;
        if currency == self.base {
            return Ok(amount);
        }
        let date = date.ok_or(ConversionError::NoDate)?;
        Ok(amount / self.per_base(currency, date)?)
    }
}
