//! A small RFC 4180 reader for the embedded reference tables.
//!
//! The domain crate may not depend on an IO-oriented CSV crate, and the embedded files are
//! known in advance, so this reader does only what RFC 4180 needs: quoted fields, doubled
//! quotes inside them, and CRLF or LF line ends. It never interprets a value: `NA` (Namibia)
//! is a two-letter string like any other, and an empty field is an empty string.

use std::borrow::Cow;
use std::collections::HashMap;

/// Why a CSV text is not RFC 4180.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CsvError {
    #[error("line {line}: quoted field is not closed")]
    UnclosedQuote { line: usize },
    #[error("line {line}: a closing quote must be followed by a comma or a line end")]
    JunkAfterQuote { line: usize },
    #[error("line {line}: a quote may only appear inside a quoted field")]
    StrayQuote { line: usize },
    #[error("line {line}: {found} fields, but the header has {expected}")]
    FieldCount {
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("the text has no header row")]
    NoHeader,
}

/// Splits `text` into records of fields. Fields borrow from `text` unless they contain doubled
/// quotes, which must be unescaped into an owned string.
pub(crate) fn records(text: &str) -> Result<Vec<Vec<Cow<'_, str>>>, CsvError> {
    let bytes = text.as_bytes();
    let mut records = Vec::new();
    let mut record: Vec<Cow<'_, str>> = Vec::new();
    let mut pos = 0;
    let mut line = 1;
    // True once the current record has seen a field start; lets "a,b\n" end cleanly and
    // keeps a final line without a line break.
    loop {
        if pos >= bytes.len() {
            if !record.is_empty() {
                records.push(std::mem::take(&mut record));
            }
            break;
        }
        // Parse one field starting at `pos`.
        let field: Cow<'_, str>;
        if bytes[pos] == b'"' {
            let start = pos + 1;
            let mut i = start;
            let mut has_doubled = false;
            loop {
                match bytes.get(i) {
                    None => return Err(CsvError::UnclosedQuote { line }),
                    Some(b'"') if bytes.get(i + 1) == Some(&b'"') => {
                        has_doubled = true;
                        i += 2;
                    }
                    Some(b'"') => break,
                    Some(b'\n') => {
                        line += 1;
                        i += 1;
                    }
                    Some(_) => i += 1,
                }
            }
            let inner = &text[start..i];
            field = if has_doubled {
                Cow::Owned(inner.replace("\"\"", "\""))
            } else {
                Cow::Borrowed(inner)
            };
            pos = i + 1;
            match bytes.get(pos) {
                None | Some(b',') | Some(b'\n') | Some(b'\r') => {}
                Some(_) => return Err(CsvError::JunkAfterQuote { line }),
            }
        } else {
            let start = pos;
            while let Some(&b) = bytes.get(pos) {
                match b {
                    b',' | b'\n' | b'\r' => break,
                    b'"' => return Err(CsvError::StrayQuote { line }),
                    _ => pos += 1,
                }
            }
            field = Cow::Borrowed(&text[start..pos]);
        }
        record.push(field);
        // After a field: a comma, a line end, or the end of the text.
        match bytes.get(pos) {
            Some(b',') => {
                pos += 1;
                // A trailing comma at the end of the text still opens an empty last field.
                if pos >= bytes.len() {
                    record.push(Cow::Borrowed(""));
                }
            }
            Some(b'\r') if bytes.get(pos + 1) == Some(&b'\n') => {
                pos += 2;
                line += 1;
                records.push(std::mem::take(&mut record));
            }
            Some(b'\r') | Some(b'\n') => {
                pos += 1;
                line += 1;
                records.push(std::mem::take(&mut record));
            }
            _ => {}
        }
    }
    Ok(records)
}

/// A CSV text with a header row, every row as long as the header.
pub(crate) struct Table<'a> {
    columns: HashMap<Cow<'a, str>, usize>,
    pub(crate) rows: Vec<Vec<Cow<'a, str>>>,
}

impl<'a> Table<'a> {
    /// Parses `text` and checks that every row has as many fields as the header.
    pub(crate) fn parse(text: &'a str) -> Result<Table<'a>, CsvError> {
        let mut rows = records(text)?.into_iter();
        let header = rows.next().ok_or(CsvError::NoHeader)?;
        let expected = header.len();
        let columns = header
            .into_iter()
            .enumerate()
            .map(|(i, name)| (name, i))
            .collect();
        let rows: Vec<_> = rows.collect();
        for (i, row) in rows.iter().enumerate() {
            if row.len() != expected {
                return Err(CsvError::FieldCount {
                    line: i + 2,
                    expected,
                    found: row.len(),
                });
            }
        }
        Ok(Table { columns, rows })
    }

    /// The index of the column called `name`, if the header has one.
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.columns.get(name).copied()
    }
}

/// Turns a field of an embedded table into a `&'static str`.
///
/// Almost every field borrows from the embedded text already. The few that contained doubled
/// quotes were unescaped into owned strings; those are leaked once, which is fine because the
/// tables are built once per process inside a `OnceLock` and live for its whole life.
pub(crate) fn into_static(field: Cow<'static, str>) -> &'static str {
    match field {
        Cow::Borrowed(s) => s,
        Cow::Owned(s) => Box::leak(s.into_boxed_str()),
    }
}

/// Parses an embedded table and returns the rows plus the indices of the named columns.
///
/// The embedded files are fixed at compile time and checked by the tests, so a failure here
/// is a build defect, not an input error.
pub(crate) fn embedded<const N: usize>(
    file: &'static str,
    text: &'static str,
    names: [&str; N],
) -> (Vec<Vec<Cow<'static, str>>>, [usize; N]) {
    let table = match Table::parse(text) {
        Ok(table) => table,
        Err(error) => panic!("embedded {file} is not RFC 4180 CSV: {error}"),
    };
    let indices = names.map(|name| match table.column(name) {
        Some(i) => i,
        None => panic!("embedded {file} has no column {name}"),
    });
    (table.rows, indices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, expect: &[&[&str]]) {
        let got = records(text).expect("test input is valid CSV");
        let got: Vec<Vec<&str>> = got
            .iter()
            .map(|r| r.iter().map(|f| f.as_ref()).collect())
            .collect();
        let expect: Vec<Vec<&str>> = expect.iter().map(|r| r.to_vec()).collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn plain_fields_and_line_ends() {
        check("a,b\n1,2\n", &[&["a", "b"], &["1", "2"]]);
        check("a,b\r\n1,2\r\n", &[&["a", "b"], &["1", "2"]]);
        check("a,b\r\n1,2", &[&["a", "b"], &["1", "2"]]);
        check("a,,\n", &[&["a", "", ""]]);
        check("a,", &[&["a", ""]]);
    }

    #[test]
    fn quoted_fields() {
        check(r#""x, y","say ""hi""",z"#, &[&["x, y", "say \"hi\"", "z"]]);
        check("\"two\nlines\",b\n", &[&["two\nlines", "b"]]);
        check("\"\",b", &[&["", "b"]]);
    }

    #[test]
    fn na_is_a_value() {
        check("code\nNA\n", &[&["code"], &["NA"]]);
    }

    #[test]
    fn malformed() {
        assert_eq!(records("\"abc"), Err(CsvError::UnclosedQuote { line: 1 }));
        assert_eq!(
            records("a\n\"x\"y"),
            Err(CsvError::JunkAfterQuote { line: 2 })
        );
        assert_eq!(records("a\"b"), Err(CsvError::StrayQuote { line: 1 }));
        assert!(matches!(
            Table::parse("a,b\n1\n"),
            Err(CsvError::FieldCount { line: 2, .. })
        ));
    }
}
