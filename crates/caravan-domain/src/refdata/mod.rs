//! Reference data compiled into the binary.
//!
//! Whether a commodity, country, currency or location code exists is decided against these
//! tables, never against a file or a service at run time: a node must give the same answer
//! offline, and two nodes built from the same commit must give the same answer. The CSV files
//! in `data/` are embedded with `include_str!` and parsed once, on first use, into hash maps,
//! because ingest checks on the order of 200,000 codes a second. Sources and licences are in
//! `data/README.md`.

mod chpl;
mod codes;
mod country;
mod csv;
mod currency;
mod hs;
mod locode;

pub use chpl::{Chpl, chpl};
pub use codes::{
    INCOTERMS, INCOTERMS_2010, INCOTERMS_2020, TRANSPORT_MODES, is_incoterm, transport_mode_name,
};
pub use country::{Countries, Country, countries};
pub use currency::{Currencies, CurrencyStatus, currencies};
pub use hs::{Hs2022, HsEntry, hs2022};
pub use locode::{FunctionMask, Locode, Locodes, locodes};
