//! Identifier makers with valid check digits (spec `declarations.md`, section 3).
//!
//! These are the generating side of the checks in `caravan_domain::id`; they are kept
//! private and tiny so that the corridor does not depend on the parsing API, and the
//! integration tests prove that the two agree (every generated draft validates).

use crate::rng::Rng;

/// ISO 6346 letter values: A=10, skipping multiples of 11 (spec 3.1).
fn iso6346_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => {
            let mut v = 10;
            let mut letter = b'A';
            while letter < c {
                v += 1;
                if v % 11 == 0 {
                    v += 1;
                }
                letter += 1;
            }
            Some(v)
        }
        _ => None,
    }
}

/// ISO 6346 check digit of the first ten characters (spec 3.1).
pub(crate) fn container_check_digit(first10: &str) -> Option<u8> {
    let bytes = first10.as_bytes();
    if bytes.len() != 10 {
        return None;
    }
    let mut sum = 0u32;
    for (i, b) in bytes.iter().enumerate() {
        sum += iso6346_value(*b)? << i;
    }
    Some(((sum % 11) % 10) as u8)
}

/// Real owner prefixes of large carriers and lessors (shape is all that is checked).
const CONTAINER_OWNERS: [&str; 12] = [
    "MSC", "MSK", "CMA", "HLX", "TGH", "TCN", "CSQ", "OOL", "EGH", "TEX", "SEG", "FCI",
];

/// A container number; `defective` gives a wrong check digit on purpose.
pub(crate) fn container(rng: &mut Rng, defective: bool) -> String {
    let first10 = format!("{}U{}", rng.pick(&CONTAINER_OWNERS), rng.digits(6));
    let check = container_check_digit(&first10).unwrap_or(0);
    let digit = if defective {
        (check + 1 + rng.below(8) as u8) % 10
    } else {
        check
    };
    format!("{first10}{digit}")
}

/// An IATA air waybill `NNN-NNNNNNNC`, check digit = serial mod 7 (spec 3.2).
pub(crate) fn air_waybill(rng: &mut Rng, airline_prefix: &str) -> String {
    let serial = rng.int(1_000_000, 9_999_999);
    format!("{airline_prefix}-{serial:07}{}", serial % 7)
}

/// A US AMS bill of lading: 4-letter SCAC + 10 digits (spec 2.3).
pub(crate) fn ams_bill_of_lading(rng: &mut Rng, scac: &str) -> String {
    format!("{scac}{}", rng.digits(10))
}

/// ISO 7064 MOD 97-10 remainder of an alphanumeric string (letters A=10 … Z=35).
fn mod97(s: &str) -> u32 {
    let mut r = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            _ => u32::from(c.to_ascii_uppercase() - b'A') + 10,
        };
        r = if v >= 10 {
            (r * 100 + v) % 97
        } else {
            (r * 10 + v) % 97
        };
    }
    r
}

/// A Legal Entity Identifier with valid MOD 97-10 check digits (spec 3.4).
pub(crate) fn lei(rng: &mut Rng, lou_prefix: &str) -> String {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let body: String = (0..12)
        .map(|_| char::from(ALNUM[rng.below(36) as usize]))
        .collect();
    let first18 = format!("{lou_prefix}00{body}");
    let check = 98 - mod97(&format!("{first18}00"));
    format!("{first18}{check:02}")
}

/// EIN prefixes the IRS never assigns (spec 3.6).
const EIN_FORBIDDEN: [u8; 17] = [
    0, 7, 8, 9, 17, 18, 19, 28, 29, 49, 69, 70, 78, 79, 89, 96, 97,
];

/// A format-valid EIN `NN-NNNNNNN` with an assigned prefix (spec 3.6).
pub(crate) fn ein(rng: &mut Rng) -> String {
    let prefix = loop {
        let p = rng.int(1, 99) as u8;
        if !EIN_FORBIDDEN.contains(&p) {
            break p;
        }
    };
    format!("{prefix:02}-{}", rng.digits(7))
}

/// A legal-entity STIR: 9 digits starting with 2 or 3 (spec 3.7).
pub(crate) fn stir(rng: &mut Rng) -> String {
    format!("{}{}", rng.int(2, 3), rng.digits(8))
}

/// CATAIR value of an entry-number filer-code character (spec 3.3).
fn catair_digit(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'A'..=b'I' => u32::from(c - b'A') + 1,
        b'J'..=b'R' => u32::from(c - b'J') + 1,
        _ => u32::from(c - b'S') + 2,
    }
}

/// CBP entry number `XXX-NNNNNNN-C` with its Luhn check digit (spec 3.3).
pub(crate) fn cbp_entry_number(filer: &str, transaction: u32) -> String {
    let digits: Vec<u32> = filer
        .bytes()
        .map(catair_digit)
        .chain(
            format!("{transaction:07}")
                .bytes()
                .map(|b| u32::from(b - b'0')),
        )
        .collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                *d
            }
        })
        .sum();
    let check = (10 - sum % 10) % 10;
    format!("{filer}-{transaction:07}-{check}")
}

/// A 7-digit IMO ship number with a valid check digit (spec 3.8).
pub(crate) fn imo_number(rng: &mut Rng) -> String {
    let body = rng.int(900_000, 999_999);
    let digits: Vec<u64> = format!("{body}")
        .bytes()
        .map(|b| u64::from(b - b'0'))
        .collect();
    let sum: u64 = digits.iter().zip((2..=7).rev()).map(|(d, w)| d * w).sum();
    format!("{body}{}", sum % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_vectors() {
        assert_eq!(container_check_digit("CSQU305438"), Some(3));
        assert_eq!(container_check_digit("MSKU601167"), Some(2));
        assert_eq!(container_check_digit("CONU123456"), Some(2));
        assert_eq!(cbp_entry_number("B76", 324_527), "B76-0324527-8");
        assert_eq!(mod97("5493001KJTIIGC8Y1R12"), 1);
        assert_eq!(mod97("YZ83GD8L7GG84979J516"), 1);
        let mut rng = Rng::new(1, 2);
        for _ in 0..100 {
            let l = lei(&mut rng, "5493");
            assert_eq!((l.len(), mod97(&l)), (20, 1));
        }
    }
}
