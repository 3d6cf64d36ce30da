//! The pure domain core of mutual assistance under a Customs Mutual Assistance Agreement
//! (assistance spec, `shared/spec/assistance.md`).
//!
//! Why a crate of its own, with no IO, no clock and no async: the rules of the agreement —
//! who may ask what, by when, who may use the answer for what — are the promise the node makes
//! to both administrations, so they live where they can be read, tested and fuzzed without a
//! store or a network. Time is always a parameter. The store, the exchange, the API and the
//! pages call in; this crate calls nothing out.
//!
//! Every refusal is a typed error with a stable snake_case `code()`.
//!
//! ```
//! use caravan_assistance::agreement::{Agreement, AgreementState};
//! let us_uz = Agreement::us_uz();
//! assert_eq!(us_uz.status.state, AgreementState::Signed);
//! let on = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
//! assert_eq!(us_uz.check_in_force(on).unwrap_err().code(), "agreement_not_in_force");
//! ```

/// Declares a field-less enum whose variants have stable wire codes, with `ALL`, `code`,
/// `parse` and `Display`. Codes are what the exchange, the API and the files carry, so they are
/// written once, next to the variant.
macro_rules! coded_enum {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable wire code.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The variant with this exact code.
            pub fn parse(code: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        // Stored and sent as the wire code, so a snapshot and a message read the same.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let code = String::deserialize(d)?;
                $name::parse(&code).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "{code:?} is not a {} code",
                        stringify!($name)
                    ))
                })
            }
        }
    };
}

pub mod agreement;
pub mod annex;
pub mod approval;
pub mod catalogue;
pub mod cost;
pub mod evidence;
pub mod hitnohit;
pub mod lifecycle;
pub mod marking;
pub mod outcome;
pub mod retention;
pub mod roles;
pub mod stats;
pub mod usecontrol;
