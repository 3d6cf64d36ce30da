//! From a file to the store, all-or-nothing.
//!
//! The pipeline reads records from any syntax, validates each under the node's
//! [`ValidationContext`], and stores accepted ones inside one [`IngestBatch`]. By default
//! one rejected record rejects the file, and the batch is dropped, so the store is left
//! exactly as it was. In quarantine mode valid records go in and each rejected record is
//! written, with its reasons, to the quarantine sink.
//!
//! Parsing and validation run on one thread while the store writes on another: on the
//! two-core machines nodes run on, that is close to twice the throughput of doing both in
//! turn. The channel between them is bounded, so memory stays flat for any file size.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use caravan_domain::declaration::draft::DeclarationDraft;
use caravan_domain::declaration::model::Declaration;
use caravan_domain::declaration::validate::{Finding, Severity, ValidationContext, validate};
use caravan_store::{
    BatchSummary, Conflict, DeclarationRecord, DeclarationStore, IngestSource, StoreError,
};
use sha2::{Digest, Sha256};

use crate::error::{Locator, SourceRecord, SyntaxError};
use crate::format::{caravan_csv, caravan_json, cusdec, wco_xml};

/// The syntaxes a node reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Caravan CSV, one row per goods item.
    CaravanCsv,
    /// Caravan JSON, one object or JSON Lines.
    CaravanJson,
    /// WCO DEC-DMS XML, one declaration per file.
    WcoXml,
    /// UN/EDIFACT CUSDEC D96B/D99B interchange.
    Cusdec,
}

impl Format {
    /// Guesses the syntax from a file extension.
    pub fn from_extension(path: &std::path::Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" => Format::CaravanCsv,
            "json" | "jsonl" | "ndjson" => Format::CaravanJson,
            "xml" => Format::WcoXml,
            "edi" | "edifact" | "cusdec" => Format::Cusdec,
            _ => return None,
        })
    }

    /// Parses a format name as the CLI takes it.
    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "csv" | "caravan-csv" => Format::CaravanCsv,
            "json" | "caravan-json" => Format::CaravanJson,
            "xml" | "wco-xml" => Format::WcoXml,
            "edifact" | "cusdec" => Format::Cusdec,
            _ => return None,
        })
    }

    /// Stable name, recorded with each ingest run.
    pub fn name(self) -> &'static str {
        match self {
            Format::CaravanCsv => "caravan-csv",
            Format::CaravanJson => "caravan-json",
            Format::WcoXml => "wco-xml",
            Format::Cusdec => "cusdec",
        }
    }

    /// Streams records out of `input`.
    pub fn reader<'r, R: Read + Send + 'r>(
        self,
        input: R,
    ) -> Box<dyn Iterator<Item = Result<SourceRecord, SyntaxError>> + Send + 'r> {
        match self {
            Format::CaravanCsv => Box::new(caravan_csv::CsvReader::new(input)),
            Format::CaravanJson => Box::new(caravan_json::JsonReader::new(input)),
            Format::WcoXml => Box::new(wco_xml::reader(input)),
            Format::Cusdec => {
                Box::new(cusdec::reader(io::BufReader::with_capacity(1 << 16, input)))
            }
        }
    }
}

/// One rejected record and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRejection {
    /// Where it sits in the file.
    pub locator: Locator,
    /// Its trader reference, when one was declared.
    pub lrn: Option<String>,
    /// The reasons: errors first, then warnings.
    pub findings: Vec<Finding>,
}

/// Why a whole file was refused. In every case nothing of it was stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The bytes are not the syntax they claim to be.
    #[error("{file}: {error}")]
    Syntax {
        /// File name.
        file: String,
        /// The syntax error.
        error: Box<SyntaxError>,
    },
    /// At least one record failed validation (whole-file mode).
    #[error("{file}: {} record(s) rejected; nothing was stored", rejections.len())]
    Rejected {
        /// File name.
        file: String,
        /// Every rejected record, in file order (at most [`MAX_REPORTED_REJECTIONS`]).
        rejections: Vec<RecordRejection>,
        /// How many records were rejected in all.
        n_rejected: u64,
    },
    /// A record repeats a stored (declarant, LRN) with different content.
    #[error("{file}: record {record} (line {line}): {conflict}; nothing was stored")]
    Duplicate {
        /// File name.
        file: String,
        /// Record number.
        record: u64,
        /// Line.
        line: u64,
        /// What conflicts.
        conflict: Conflict,
    },
    /// The store failed.
    #[error("{file}: store: {source}; nothing was stored")]
    Store {
        /// File name.
        file: String,
        /// The store error.
        #[source]
        source: StoreError,
    },
    /// Writing the quarantine file failed.
    #[error("{file}: writing the quarantine file: {source}; nothing was stored")]
    Quarantine {
        /// File name.
        file: String,
        /// The IO error.
        #[source]
        source: io::Error,
    },
}

/// At most this many rejected records are kept in an error; the count is always exact.
pub const MAX_REPORTED_REJECTIONS: usize = 1000;

/// What an accepted file did to the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// The store's totals for the batch.
    pub batch: BatchSummary,
    /// Records read.
    pub records: u64,
    /// Records quarantined (quarantine mode only).
    pub quarantined: u64,
    /// Warnings stored with the accepted declarations.
    pub warnings: u64,
    /// Head of the audit hash chain over the canonical digests of the declarations this
    /// run stored, in file order: `h0 = SHA-256("caravan/v1 audit")`,
    /// `h(i+1) = SHA-256(h(i) || digest(i))`. A node logs the head as an `audit_anchor`,
    /// committing to exactly what it ingested without revealing any of it.
    pub audit_head: [u8; 32],
}

/// The first link of every audit chain.
pub fn audit_chain_start() -> [u8; 32] {
    Sha256::digest(b"caravan/v1 audit").into()
}

/// One link of the audit chain.
pub fn audit_chain_next(head: &[u8; 32], digest: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(head);
    hasher.update(digest);
    hasher.finalize().into()
}

/// What to do with rejected records.
pub enum Mode<'a> {
    /// One rejection rejects the file.
    WholeFile,
    /// Rejected records go to this sink as JSON Lines; valid ones are stored.
    Quarantine(&'a mut (dyn Write + Send)),
}

/// A reader that counts bytes, so a caller can draw progress from another thread.
pub struct CountingReader<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> CountingReader<R> {
    /// Wraps `inner`; `counter` grows by every byte read.
    pub fn new(inner: R, counter: Arc<AtomicU64>) -> CountingReader<R> {
        CountingReader { inner, counter }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A validated record with its canonical document, ready for the store.
struct Prepared {
    locator: Locator,
    declaration: Declaration,
    findings: Vec<Finding>,
    document: Vec<u8>,
    digest: [u8; 32],
}

enum Step {
    Accept(Box<Prepared>),
    Reject(Box<(RecordRejection, DeclarationDraft)>),
    Syntax(SyntaxError),
}

/// The canonical document of a declaration: its Caravan JSON line. Equal declarations
/// give equal bytes, so the digest identifies content whatever syntax it arrived in.
pub fn canonical_document(declaration: &Declaration) -> Vec<u8> {
    let mut document = Vec::with_capacity(2048);
    // Writing to a Vec cannot fail.
    let _ = caravan_json::write_line(&mut document, &declaration.to_draft());
    document
}

fn prepare(record: SourceRecord, ctx: &ValidationContext) -> Step {
    match validate(&record.draft, ctx) {
        Ok(validated) => {
            let document = canonical_document(&validated.declaration);
            let digest: [u8; 32] = Sha256::digest(&document).into();
            Step::Accept(Box::new(Prepared {
                locator: record.locator,
                declaration: validated.declaration,
                findings: validated.findings,
                document,
                digest,
            }))
        }
        Err(rejected) => {
            let lrn = Some(record.draft.header.lrn.trim().to_owned()).filter(|l| !l.is_empty());
            Step::Reject(Box::new((
                RecordRejection {
                    locator: record.locator,
                    lrn,
                    findings: rejected.findings,
                },
                record.draft,
            )))
        }
    }
}

const CHUNK: usize = 256;

/// Ingests one file. On `Ok`, every accepted record is durable; on `Err`, nothing is.
pub fn ingest<R: Read + Send>(
    store: &dyn DeclarationStore,
    input: R,
    format: Format,
    source: &IngestSource,
    ctx: &ValidationContext,
    mut mode: Mode<'_>,
) -> Result<IngestReport, IngestError> {
    let file = source.name.clone();
    let store_err = |source: StoreError| IngestError::Store {
        file: file.clone(),
        source,
    };
    let mut batch = store.begin_ingest(source).map_err(store_err)?;
    let mut report = IngestReport {
        audit_head: audit_chain_start(),
        ..IngestReport::default()
    };
    let mut rejections: Vec<RecordRejection> = Vec::new();
    let mut n_rejected = 0u64;

    let outcome: Result<(), IngestError> = std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Vec<Step>>(8);
        scope.spawn(move || {
            let mut chunk = Vec::with_capacity(CHUNK);
            for item in format.reader(input) {
                let step = match item {
                    Ok(record) => prepare(record, ctx),
                    Err(err) => Step::Syntax(err),
                };
                let stop = matches!(step, Step::Syntax(_));
                chunk.push(step);
                if chunk.len() == CHUNK || stop {
                    if tx
                        .send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))
                        .is_err()
                    {
                        return;
                    }
                    if stop {
                        return;
                    }
                }
            }
            let _ = tx.send(chunk);
        });
        // Dropping `rx` on an early return stops the parser at its next send.
        for chunk in rx {
            for step in chunk {
                report.records += 1;
                match step {
                    Step::Syntax(error) => {
                        return Err(IngestError::Syntax {
                            file: file.clone(),
                            error: Box::new(error),
                        });
                    }
                    Step::Reject(rejected) => {
                        let (rejection, draft) = *rejected;
                        n_rejected += 1;
                        if let Mode::Quarantine(sink) = &mut mode {
                            write_quarantine(&mut **sink, &rejection, &draft).map_err(
                                |source| IngestError::Quarantine {
                                    file: file.clone(),
                                    source,
                                },
                            )?;
                            report.quarantined += 1;
                        } else if rejections.len() < MAX_REPORTED_REJECTIONS {
                            rejections.push(rejection);
                        }
                    }
                    Step::Accept(prepared) => {
                        if n_rejected > 0 && matches!(mode, Mode::WholeFile) {
                            // The file is already refused; keep reading only to report
                            // every rejected record in one pass.
                            continue;
                        }
                        let record = DeclarationRecord {
                            declaration: &prepared.declaration,
                            findings: &prepared.findings,
                            document: &prepared.document,
                            digest: prepared.digest,
                            source_record: prepared.locator.record,
                        };
                        match (batch.put(&record), &mut mode) {
                            (Ok(outcome), _) => {
                                report.warnings += prepared.findings.len() as u64;
                                if matches!(outcome, caravan_store::PutOutcome::Inserted(_)) {
                                    report.audit_head =
                                        audit_chain_next(&report.audit_head, &prepared.digest);
                                }
                            }
                            (Err(StoreError::Conflict(conflict)), Mode::Quarantine(sink)) => {
                                // The store refused this record before writing any of it,
                                // so the batch goes on and the record is explained instead.
                                n_rejected += 1;
                                let rejection = RecordRejection {
                                    locator: prepared.locator,
                                    lrn: Some(prepared.declaration.header.lrn.clone()),
                                    findings: vec![Finding {
                                        severity: Severity::Error,
                                        code: "DECL_DUPLICATE_REFERENCE",
                                        path: "header.lrn".to_owned(),
                                        value: Some(prepared.declaration.header.lrn.clone()),
                                        message: conflict.to_string(),
                                    }],
                                };
                                write_quarantine(
                                    &mut **sink,
                                    &rejection,
                                    &prepared.declaration.to_draft(),
                                )
                                .map_err(|source| {
                                    IngestError::Quarantine {
                                        file: file.clone(),
                                        source,
                                    }
                                })?;
                                report.quarantined += 1;
                            }
                            (Err(StoreError::Conflict(conflict)), Mode::WholeFile) => {
                                return Err(IngestError::Duplicate {
                                    file: file.clone(),
                                    record: prepared.locator.record,
                                    line: prepared.locator.line,
                                    conflict,
                                });
                            }
                            (Err(source), _) => {
                                return Err(IngestError::Store {
                                    file: file.clone(),
                                    source,
                                });
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    });
    outcome?;
    if n_rejected > 0 && matches!(mode, Mode::WholeFile) {
        return Err(IngestError::Rejected {
            file,
            rejections,
            n_rejected,
        });
    }
    report.batch = batch.commit().map_err(store_err)?;
    Ok(report)
}

fn write_quarantine(
    sink: &mut dyn Write,
    rejection: &RecordRejection,
    draft: &DeclarationDraft,
) -> io::Result<()> {
    let reasons: Vec<serde_json::Value> = rejection
        .findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "severity": f.severity.as_str(),
                "code": f.code,
                "path": f.path,
                "value": f.value,
                "message": f.message,
            })
        })
        .collect();
    let mut declaration = Vec::new();
    caravan_json::write_line(&mut declaration, draft)?;
    let declaration: serde_json::Value = serde_json::from_slice(&declaration)?;
    let line = serde_json::json!({
        "record": rejection.locator.record,
        "line": rejection.locator.line,
        "lrn": rejection.lrn,
        "reasons": reasons,
        "declaration": declaration,
    });
    serde_json::to_writer(&mut *sink, &line)?;
    sink.write_all(b"\n")
}
