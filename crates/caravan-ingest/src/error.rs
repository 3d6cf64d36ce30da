//! Syntax errors that name where they happened, so an officer can fix the file.

use std::fmt;

/// Where in a file a record or error sits. Lines and records are 1-based.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Locator {
    /// Line (CSV, JSON Lines, XML) or segment number (EDIFACT) where the record starts.
    pub line: u64,
    /// Record number within the file: CSV declaration, JSON object, EDIFACT message.
    pub record: u64,
}

/// A declaration draft read from a file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    pub locator: Locator,
    pub draft: caravan_domain::declaration::draft::DeclarationDraft,
}

/// A file that cannot be read as its syntax says. The record cannot be interpreted at all,
/// so this is always an error, never a warning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SyntaxError {
    /// Stable machine code, e.g. `CSV_UNKNOWN_COLUMN`, `EDI_SEGMENT_UNEXPECTED`.
    pub code: &'static str,
    pub locator: Locator,
    /// Field, column, element path or segment tag, when one is to blame.
    pub field: Option<String>,
    /// Offending value, truncated to 80 characters.
    pub value: Option<String>,
    /// The rule broken, as a sentence fragment.
    pub rule: String,
}

impl SyntaxError {
    /// Builds an error; `value` is cut to 80 characters so a 2 GB line never reaches a log.
    pub fn new(code: &'static str, locator: Locator, rule: impl Into<String>) -> SyntaxError {
        SyntaxError {
            code,
            locator,
            field: None,
            value: None,
            rule: rule.into(),
        }
    }

    /// Names the field at fault.
    pub fn field(mut self, field: impl Into<String>) -> SyntaxError {
        self.field = Some(field.into());
        self
    }

    /// Names the offending value (truncated).
    pub fn value(mut self, value: &str) -> SyntaxError {
        self.value = Some(truncate(value, 80));
        self
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at line {}", self.code, self.locator.line)?;
        if self.locator.record > 0 {
            write!(f, ", record {}", self.locator.record)?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field {field}")?;
        }
        if let Some(value) = &self.value {
            write!(f, ", value {value:?}")?;
        }
        write!(f, ": {}", self.rule)
    }
}

/// Cuts `s` to at most `max` characters, marking the cut.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((cut, _)) => format!("{}…", &s[..cut]),
    }
}
