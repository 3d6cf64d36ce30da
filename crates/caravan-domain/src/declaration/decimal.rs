//! Exact decimal amounts and masses.
//!
//! WCO formats are decimal (`n..16,3` for amounts, `n..16,6` for masses). Binary floating
//! point would change declared values on the way through, and a customs value that moves
//! by a cent is a different declaration. Values are kept as an integer count of
//! millionths, which covers both formats exactly.

use std::fmt;

/// A non-negative or negative decimal with up to six fractional digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Decimal {
    micros: i128,
}

/// Why a string is not a decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// Empty, or holds something other than digits, one `.` and a leading `-`.
    #[error("not a decimal number (digits with an optional '.', no thousands separators)")]
    Syntax,
    /// More fractional digits than the format allows.
    #[error("at most {max} digits after the decimal point")]
    TooManyDecimals {
        /// Allowed fractional digits.
        max: u32,
    },
    /// More digits in total than the format allows.
    #[error("at most {max} digits in all")]
    TooManyDigits {
        /// Allowed total digits.
        max: u32,
    },
}

const SCALE: i128 = 1_000_000;

impl Decimal {
    /// Zero.
    pub const ZERO: Decimal = Decimal { micros: 0 };

    /// Parses `[-]digits[.digits]` within the WCO format `n..total,fraction`.
    pub fn parse(raw: &str, total: u32, fraction: u32) -> Result<Decimal, DecimalError> {
        let s = raw.trim();
        let (negative, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty() && frac_part.is_empty()
            || !all_digits(int_part)
            || !all_digits(frac_part)
            || (body.contains('.') && frac_part.is_empty() && int_part.is_empty())
        {
            return Err(DecimalError::Syntax);
        }
        let frac_trimmed = frac_part.trim_end_matches('0');
        if frac_trimmed.len() as u32 > fraction.min(6) {
            return Err(DecimalError::TooManyDecimals {
                max: fraction.min(6),
            });
        }
        let int_trimmed = int_part.trim_start_matches('0');
        // `n..16,3` allows 16 digits of which 3 are decimals: 13 before the point.
        if int_trimmed.len() as u32 > total.saturating_sub(fraction.min(total))
            || (int_trimmed.len() + frac_trimmed.len()) as u32 > total
        {
            return Err(DecimalError::TooManyDigits { max: total });
        }
        let mut micros: i128 = 0;
        for b in int_trimmed.bytes() {
            micros = micros * 10 + i128::from(b - b'0');
        }
        micros *= SCALE;
        let mut frac_value: i128 = 0;
        for (k, b) in frac_trimmed.bytes().enumerate() {
            frac_value += i128::from(b - b'0') * 10i128.pow(5 - k as u32);
        }
        micros += frac_value;
        Ok(Decimal {
            micros: if negative { -micros } else { micros },
        })
    }

    /// Builds a decimal from a count of millionths.
    pub fn from_micros(micros: i128) -> Decimal {
        Decimal { micros }
    }

    /// Builds a decimal from a whole number.
    pub fn from_int(n: i64) -> Decimal {
        Decimal {
            micros: i128::from(n) * SCALE,
        }
    }

    /// The value in millionths.
    pub fn micros(self) -> i128 {
        self.micros
    }

    /// True below zero.
    pub fn is_negative(self) -> bool {
        self.micros < 0
    }

    /// Approximate value, for analytics only; never for stored amounts.
    pub fn to_f64(self) -> f64 {
        self.micros as f64 / SCALE as f64
    }

    /// Rounds to `places` fractional digits, half away from zero.
    pub fn round(self, places: u32) -> Decimal {
        let unit = 10i128.pow(6 - places.min(6));
        let half = unit / 2;
        let rounded = if self.micros >= 0 {
            (self.micros + half) / unit * unit
        } else {
            (self.micros - half) / unit * unit
        };
        Decimal { micros: rounded }
    }

    /// Sum, saturating rather than overflowing (sums of validated values never get close).
    pub fn saturating_add(self, other: Decimal) -> Decimal {
        Decimal {
            micros: self.micros.saturating_add(other.micros),
        }
    }
}

impl fmt::Display for Decimal {
    /// Shortest exact form: `12.5`, `0.000001`, `-3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.micros < 0 { "-" } else { "" };
        let abs = self.micros.unsigned_abs();
        let int = abs / SCALE as u128;
        let frac = abs % SCALE as u128;
        if frac == 0 {
            write!(f, "{sign}{int}")
        } else {
            let digits = format!("{frac:06}");
            write!(f, "{sign}{int}.{}", digits.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(raw: &str, expect: Result<&str, DecimalError>) {
        let got = Decimal::parse(raw, 16, 6).map(|d| d.to_string());
        assert_eq!(got.as_deref().map_err(|e| *e), expect);
    }

    #[test]
    fn parses_and_prints_canonically() {
        check("12.50", Ok("12.5"));
        check("0012", Ok("12"));
        check("-3.000", Ok("-3"));
        check(".5", Ok("0.5"));
        check("5.", Ok("5"));
        check("0.000001", Ok("0.000001"));
        check("1,000", Err(DecimalError::Syntax));
        check("", Err(DecimalError::Syntax));
        check("-", Err(DecimalError::Syntax));
        check(".", Err(DecimalError::Syntax));
        check("1e5", Err(DecimalError::Syntax));
        check("0.0000001", Err(DecimalError::TooManyDecimals { max: 6 }));
        check("12345678901", Err(DecimalError::TooManyDigits { max: 16 }));
        check("1234567890.123456", Ok("1234567890.123456"));
    }

    #[test]
    fn amount_format_limits_fraction() {
        assert_eq!(
            Decimal::parse("1.2345", 16, 3),
            Err(DecimalError::TooManyDecimals { max: 3 })
        );
        assert_eq!(
            Decimal::parse("1.2340", 16, 3).unwrap().to_string(),
            "1.234"
        );
    }

    proptest::proptest! {
        #[test]
        fn display_round_trips(micros in -10i128.pow(16)..10i128.pow(16)) {
            let d = Decimal::from_micros(micros);
            proptest::prop_assert_eq!(Decimal::parse(&d.to_string(), 23, 6), Ok(d));
        }
    }
}
