//! Why a list file was refused. Every refusal has a stable code an operator can look up and
//! a message that says where; a refused file never replaces the active version of its list.

/// The stable error codes of list ingestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListErrorCode {
    /// The file holds no entries.
    Empty,
    /// The file ends before its format says it may (missing OFAC `0x1A`, unclosed XML, cut
    /// JSON line).
    Truncated,
    /// The bytes are not the format the parser was asked to read (HTML error page, a CSV
    /// given as XML, wrong column count).
    WrongFormat,
    /// A CSV record cannot be read.
    Csv,
    /// The XML is not well-formed.
    Xml,
    /// A JSON line is not valid JSON or not an object.
    Json,
    /// A required column or field is missing.
    MissingField,
    /// A column the format does not define (lookout CSV).
    UnknownColumn,
    /// A field has a value outside its domain (bad date, kind, country).
    BadValue,
    /// Two records claim the same id where ids must be unique, or rows of one entry disagree.
    Duplicate,
    /// An alias or address row refers to an entry that does not exist.
    Orphan,
}

impl ListErrorCode {
    /// The stable code, e.g. `LIST_TRUNCATED`.
    pub fn as_str(self) -> &'static str {
        match self {
            ListErrorCode::Empty => "LIST_EMPTY",
            ListErrorCode::Truncated => "LIST_TRUNCATED",
            ListErrorCode::WrongFormat => "LIST_WRONG_FORMAT",
            ListErrorCode::Csv => "LIST_CSV",
            ListErrorCode::Xml => "LIST_XML",
            ListErrorCode::Json => "LIST_JSON",
            ListErrorCode::MissingField => "LIST_MISSING_FIELD",
            ListErrorCode::UnknownColumn => "LIST_UNKNOWN_COLUMN",
            ListErrorCode::BadValue => "LIST_BAD_VALUE",
            ListErrorCode::Duplicate => "LIST_DUPLICATE",
            ListErrorCode::Orphan => "LIST_ORPHAN",
        }
    }
}

/// A refused list file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {file}{}: {message}", code.as_str(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct ListError {
    /// Stable code.
    pub code: ListErrorCode,
    /// Which file of the list (`sdn.csv`, `alt.csv`, …).
    pub file: String,
    /// 1-based line (record for CSV), when known.
    pub line: Option<u64>,
    /// What is wrong, for the operator.
    pub message: String,
}

impl ListError {
    /// Builds an error.
    pub fn new(
        code: ListErrorCode,
        file: &str,
        line: Option<u64>,
        message: impl Into<String>,
    ) -> ListError {
        ListError {
            code,
            file: file.to_owned(),
            line,
            message: message.into(),
        }
    }
}

/// Why a name was refused by the normaliser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing matchable is left after normalisation (empty, only emoji or punctuation).
    #[error("SCREEN_NAME_EMPTY: the name has no letters or digits to match")]
    Empty,
    /// Longer than [`crate::normalize::MAX_NAME_BYTES`].
    #[error("SCREEN_NAME_TOO_LONG: the name is {0} bytes; at most 1024 are screened")]
    TooLong(usize),
}

impl NameError {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            NameError::Empty => "SCREEN_NAME_EMPTY",
            NameError::TooLong(_) => "SCREEN_NAME_TOO_LONG",
        }
    }
}
