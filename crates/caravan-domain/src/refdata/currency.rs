//! ISO 4217 currencies, current and withdrawn.
//!
//! A withdrawn code (e.g. `RUR`, used in Uzbekistan until 1994) is still a code: declarations
//! that use one are accepted with a warning, so the table keeps both kinds apart rather than
//! dropping the history.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::csv::{embedded, into_static};

const CURRENCY_CODES_CSV: &str = include_str!("../../data/currency-codes.csv");

/// Whether an ISO 4217 code is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CurrencyStatus {
    /// At least one entity uses the code today.
    Current {
        /// Digits after the decimal point (2 for USD, 0 for JPY); `None` where ISO gives
        /// none, as for gold (`XAU`).
        minor_unit: Option<u8>,
    },
    /// Every row of the code has a withdrawal date.
    Withdrawn,
}

#[derive(Debug)]
struct CurrencyInfo {
    status: CurrencyStatus,
    name: &'static str,
}

/// The ISO 4217 table, indexed by alphabetic code.
#[derive(Debug)]
pub struct Currencies {
    by_code: HashMap<&'static str, CurrencyInfo>,
}

/// The embedded ISO 4217 table, parsed on first use.
pub fn currencies() -> &'static Currencies {
    static CURRENCIES: OnceLock<Currencies> = OnceLock::new();
    CURRENCIES.get_or_init(Currencies::load)
}

impl Currencies {
    fn load() -> Currencies {
        let (rows, [name, code, minor_unit, withdrawal_date]) = embedded(
            "currency-codes.csv",
            CURRENCY_CODES_CSV,
            ["Currency", "AlphabeticCode", "MinorUnit", "WithdrawalDate"],
        );
        let mut by_code: HashMap<&'static str, CurrencyInfo> = HashMap::new();
        for mut row in rows {
            let mut take = |i: usize| into_static(std::mem::take(&mut row[i]));
            let code = take(code);
            // Antarctica and a few others have a row saying "No universal currency".
            if code.is_empty() {
                continue;
            }
            let name = take(name);
            let minor_unit = take(minor_unit).parse::<u8>().ok();
            let status = if take(withdrawal_date).is_empty() {
                CurrencyStatus::Current { minor_unit }
            } else {
                CurrencyStatus::Withdrawn
            };
            let info = by_code.entry(code).or_insert(CurrencyInfo { status, name });
            // A code is current if any one of its rows is.
            if let (CurrencyStatus::Withdrawn, CurrencyStatus::Current { .. }) =
                (info.status, status)
            {
                *info = CurrencyInfo { status, name };
            }
        }
        Currencies { by_code }
    }

    /// The status of the ISO 4217 alphabetic code `code` (upper case), or `None` if ISO never
    /// assigned it.
    pub fn get(&self, code: &str) -> Option<CurrencyStatus> {
        self.by_code.get(code).map(|info| info.status)
    }

    /// The English name of `code`, e.g. `"Uzbekistan Sum"`.
    pub fn name(&self, code: &str) -> Option<&str> {
        self.by_code.get(code).map(|info| info.name)
    }

    /// Every code, current and withdrawn, in no particular order.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.by_code.keys().copied()
    }
}
