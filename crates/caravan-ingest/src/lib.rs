//! Getting declarations into a node: the syntaxes, and the pipeline that validates and
//! stores them all-or-nothing.
//!
//! Each syntax in [`format`] only translates bytes to and from
//! [`caravan_domain::declaration::draft::DeclarationDraft`]; validation lives in the domain.

pub mod error;
pub mod format;
pub mod pipeline;
