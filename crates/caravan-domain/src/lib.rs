//! The pure core of Caravan: validated identifiers, the reference data they are checked
//! against, and the WCO Data Model declaration.
//!
//! Nothing here does IO, knows a wire syntax, or can fail for a reason outside its input.
//! Reference data (HS 2022, ISO 3166-1, ISO 4217, UN/LOCODE for US and UZ, the Common
//! High Priority List) is compiled into the binary, so a node never reads files to decide
//! whether a code exists.

pub mod declaration;
pub mod id;
pub mod refdata;
