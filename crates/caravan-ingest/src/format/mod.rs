//! The four declaration syntaxes. Each module reads a stream into
//! [`crate::error::SourceRecord`]s and writes drafts back out.

pub mod caravan_csv;
pub mod caravan_json;
pub mod cusdec;
pub mod linecap;
pub mod wco_xml;
pub mod wco_xsd;
