//! The WCO Data Model declaration: `Declaration` → parties, `Consignment` (transport) and
//! `GovernmentAgencyGoodsItem` (goods items), plus the customs outcome.

pub mod draft;

pub mod decimal;
pub mod model;
pub mod validate;
