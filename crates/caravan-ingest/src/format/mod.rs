//! The four declaration syntaxes. Each module reads a stream into
//! [`crate::error::SourceRecord`]s and writes drafts back out.

pub mod cusdec;
pub mod wco_xml;
