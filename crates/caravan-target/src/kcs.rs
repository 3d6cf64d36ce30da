//! Reads the Korea Customs Service synthetic import declarations (Jeong et al., arXiv
//! 2208.02484) as they are shipped, so the evaluation runs on the published splits without
//! conversion. Columns are found by header name; a bad value is refused with its line and
//! column, and nothing of a file with an error is returned.

use std::io::Read;

use crate::date::Day;
use crate::record::{Outcome, TargetRecord};

/// Why a KCS file was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KcsError {
    /// The header lacks a required column.
    #[error("KCS_HEADER: line 1: missing column {0:?}")]
    MissingColumn(&'static str),
    /// A row could not be read as CSV.
    #[error("KCS_SYNTAX: line {line}: {message}")]
    Syntax {
        /// 1-based line.
        line: u64,
        /// What went wrong.
        message: String,
    },
    /// A field holds a value of the wrong kind.
    #[error("KCS_VALUE: line {line}, column {column:?}: {message}: {value:?}")]
    Value {
        /// 1-based line.
        line: u64,
        /// Column name.
        column: &'static str,
        /// What was expected.
        message: &'static str,
        /// The value found (truncated to 40 characters).
        value: String,
    },
    /// Two rows share a declaration ID.
    #[error("KCS_DUPLICATE: line {line}: declaration ID {id:?} already on line {first}")]
    Duplicate {
        /// 1-based line of the repeat.
        line: u64,
        /// First occurrence.
        first: u64,
        /// The ID.
        id: String,
    },
}

const COLUMNS: [&str; 20] = [
    "Declaration ID",
    "Date",
    "Office ID",
    "Process Type",
    "Import Type",
    "Import Use",
    "Payment Type",
    "Mode of Transport",
    "Declarant ID",
    "Importer ID",
    "Seller ID",
    "Courier ID",
    "HS6 Code",
    "Country of Departure",
    "Country of Origin",
    "Tax Rate",
    "Tax Type",
    "Country of Origin Indicator",
    "Net Mass",
    "Item Price",
];

/// Reads a whole KCS CSV. Rows with the `Fraud` column carry an outcome (all KCS rows were
/// inspected); without it the rows are unlabelled.
pub fn read(input: impl Read) -> Result<Vec<TargetRecord>, KcsError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| KcsError::Syntax {
            line: 1,
            message: e.to_string(),
        })?
        .clone();
    let position = |name: &str| headers.iter().position(|h| h.trim() == name);
    let mut index = [0usize; 20];
    for (slot, name) in index.iter_mut().zip(COLUMNS) {
        *slot = position(name).ok_or(KcsError::MissingColumn(name))?;
    }
    let fraud_col = position("Fraud");
    let critical_col = position("Critical Fraud");

    let mut records = Vec::new();
    let mut seen = std::collections::HashMap::new();
    let mut row = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut row).map_err(|e| KcsError::Syntax {
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        })?;
        if !more {
            break;
        }
        let line = row.position().map_or(0, |p| p.line());
        let field = |i: usize| row.get(index[i]).unwrap_or("").trim();
        let text = |i: usize| {
            let v = field(i);
            (!v.is_empty()).then(|| v.to_owned())
        };
        let number = |i: usize| -> Result<Option<f64>, KcsError> {
            let v = field(i);
            if v.is_empty() {
                return Ok(None);
            }
            match v.parse::<f64>() {
                Ok(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
                _ => Err(value_error(line, COLUMNS[i], "a non-negative number", v)),
            }
        };
        let id = field(0);
        if id.is_empty() {
            return Err(value_error(line, COLUMNS[0], "a declaration ID", id));
        }
        if let Some(first) = seen.insert(id.to_owned(), line) {
            return Err(KcsError::Duplicate {
                line,
                first,
                id: id.to_owned(),
            });
        }
        let date = match field(1) {
            "" => None,
            raw => Some(
                Day::parse(raw)
                    .ok_or_else(|| value_error(line, "Date", "a YYYY-MM-DD date", raw))?,
            ),
        };
        let flag = |col: Option<usize>, name: &'static str| -> Result<Option<bool>, KcsError> {
            let Some(col) = col else { return Ok(None) };
            match row.get(col).unwrap_or("").trim() {
                "0" => Ok(Some(false)),
                "1" => Ok(Some(true)),
                "" => Ok(None),
                other => Err(value_error(line, name, "0 or 1", other)),
            }
        };
        let fraud = flag(fraud_col, "Fraud")?;
        // "Critical Fraud" is 0 (none), 1 (fraud) or 2 (critical fraud).
        let critical = match critical_col.map(|c| row.get(c).unwrap_or("").trim()) {
            None | Some("" | "0" | "1") => false,
            Some("2") => true,
            Some(other) => return Err(value_error(line, "Critical Fraud", "0, 1 or 2", other)),
        };
        let outcome = fraud.map(|fraud| Outcome {
            fraud,
            critical,
            revenue: None,
        });
        let hs6 = text(12).map(|hs| {
            // Leading zeros are lost in some exports of the data (HS chapters 01–09).
            if hs.len() == 5 && hs.bytes().all(|b| b.is_ascii_digit()) {
                format!("0{hs}")
            } else {
                hs
            }
        });
        records.push(TargetRecord {
            id: id.to_owned(),
            date,
            office: text(2),
            process_type: text(3),
            import_type: text(4),
            import_use: text(5),
            payment_type: text(6),
            transport_mode: text(7),
            declarant: text(8),
            importer: text(9),
            seller: text(10),
            courier: text(11),
            hs6,
            departure: text(13),
            origin: text(14),
            tax_rate: number(15)?,
            tax_type: text(16),
            origin_indicator: text(17),
            net_mass: number(18)?,
            value: number(19)?,
            outcome,
            signals: Vec::new(),
        });
    }
    Ok(records)
}

fn value_error(line: u64, column: &'static str, message: &'static str, value: &str) -> KcsError {
    KcsError::Value {
        line,
        column,
        message,
        value: value.chars().take(40).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Declaration ID,Date,Office ID,Process Type,Import Type,Import Use,Payment Type,Mode of Transport,Declarant ID,Importer ID,Seller ID,Courier ID,HS6 Code,Country of Departure,Country of Origin,Tax Rate,Tax Type,Country of Origin Indicator,Net Mass,Item Price,Fraud,Critical Fraud\n";

    #[test]
    fn reads_a_row() {
        let csv = format!(
            "{HEADER}97061800,2020-01-01,30,B,11,21,11,10,ZZR1LT6,QLRUBN9,0VKY2BR,,40890,BE,BE,0.0,FEU1,G,108.0,372254.4,1,0\n"
        );
        let rows = read(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.id, "97061800");
        assert_eq!(r.hs6.as_deref(), Some("040890"));
        assert_eq!(r.courier, None);
        assert_eq!(r.value, Some(372_254.4));
        assert_eq!(r.is_fraud(), Some(true));
    }

    /// One data row with the given date, net mass, fraud and critical-fraud cells.
    fn one_row(date: &str, mass: &str, fraud: &str, critical: &str) -> String {
        format!(
            "{HEADER}1,{date},30,B,11,21,11,10,A,B,C,,440890,BE,BE,0.0,FEU1,G,{mass},1,{fraud},{critical}\n"
        )
    }

    #[test]
    fn refuses_bad_values_with_line_and_column() {
        let cases = [
            (one_row("2020-01-01", "-3", "0", "0"), "Net Mass"),
            (one_row("2020-13-01", "3", "0", "0"), "Date"),
            (one_row("2020-01-01", "3", "2", "0"), "Fraud"),
            (one_row("2020-01-01", "3", "1", "3"), "Critical Fraud"),
        ];
        for (csv, expected) in cases {
            match read(csv.as_bytes()) {
                Err(KcsError::Value {
                    line: 2, column, ..
                }) => assert_eq!(column, expected),
                other => panic!("{expected}: {other:?}"),
            }
        }
        let critical = read(one_row("2020-01-01", "3", "1", "2").as_bytes()).unwrap();
        assert!(critical[0].outcome.unwrap().critical);
        let row = one_row("2020-01-01", "3", "0", "0");
        let csv = format!("{row}{}", &row[HEADER.len()..]);
        assert!(matches!(
            read(csv.as_bytes()),
            Err(KcsError::Duplicate {
                line: 3,
                first: 2,
                ..
            })
        ));
        assert_eq!(
            read("Declaration ID,Date\n".as_bytes()),
            Err(KcsError::MissingColumn("Office ID"))
        );
    }
}
