//! The ingest pipeline against a real SQLite store: whole files in, bad files out, and the
//! store unchanged whenever a file is refused (issue: "Bad input").

use std::io::{Cursor, Read};

use caravan_domain::declaration::draft::{
    AddressDraft, DeclarationDraft, EquipmentDraft, GoodsItemDraft, HeaderDraft, PartyDraft,
    TransportDraft,
};
use caravan_domain::declaration::validate::{Provenance, ValidationContext};
use caravan_ingest::format::caravan_csv::{CsvReader, CsvWriter};
use caravan_ingest::format::caravan_json::{self, JsonReader};
use caravan_ingest::pipeline::{Format, IngestError, Mode, ingest};
use caravan_store::{Conflict, DeclarationStore, IngestSource, StoreCounts};
use caravan_store_sqlite::SqliteStore;

fn party(role: &str, scheme: &str, id: &str, name: &str, country: &str) -> PartyDraft {
    PartyDraft {
        role: role.into(),
        id_scheme: Some(scheme.into()),
        id: Some(id.into()),
        name: Some(name.into()),
        address: AddressDraft {
            city: Some("Tashkent".into()),
            country: Some(country.into()),
            ..Default::default()
        },
        function_code: None,
    }
}

/// A valid UZ export filed locally at the UZ node, `n_items` goods items.
fn uz_export(lrn: &str, n_items: usize) -> DeclarationDraft {
    DeclarationDraft {
        header: HeaderDraft {
            type_code: "EXA".into(),
            function_code: "9".into(),
            lrn: lrn.into(),
            issued_at: Some("2024-11-05T10:00:00+05:00".into()),
            goods_item_count: Some(n_items.to_string()),
            invoice_currency: Some("USD".into()),
            ..Default::default()
        },
        parties: vec![
            // Canonical role order (EX, CZ, CN, IM, DT, ...), the order CSV columns have.
            party(
                "EX",
                "UZ_STIR",
                "306180825",
                "«Toshkent To'qimachilik» MChJ",
                "UZ",
            ),
            party(
                "CN",
                "US_EIN",
                "91-1144442",
                "Gulf Coast Textiles Inc",
                "US",
            ),
            party(
                "DT",
                "UZ_STIR",
                "304426154",
                "ООО «Ташкент Текстиль», склад №2",
                "UZ",
            ),
        ],
        transport: TransportDraft {
            equipment: vec![EquipmentDraft {
                container_id: "MSKU6011672".into(),
                seals: vec!["A|1;2".into()],
            }],
            border_mode: Some("2".into()),
            dispatch_country: Some("UZ".into()),
            destination_country: Some("US".into()),
            routing_countries: vec!["KZ".into(), "RU".into()],
            ..Default::default()
        },
        items: (1..=n_items)
            .map(|n| GoodsItemDraft {
                sequence: n.to_string(),
                commodity_code: Some("5205120000".into()),
                description: Some(format!("Пряжа хлопчатобумажная, \"combed\", lot {n}")),
                origin_country: Some("UZ".into()),
                gross_mass: Some("1000.25".into()),
                net_mass: Some("990".into()),
                customs_value: Some("12500.5".into()),
                ..Default::default()
            })
            .collect(),
        outcome: None,
        amendments: Vec::new(),
    }
}

fn csv_bytes(drafts: &[DeclarationDraft]) -> Vec<u8> {
    let mut writer = CsvWriter::new(Vec::new()).unwrap();
    for d in drafts {
        writer.write(d).unwrap();
    }
    writer.finish().unwrap()
}

fn json_bytes(drafts: &[DeclarationDraft]) -> Vec<u8> {
    let mut out = Vec::new();
    for d in drafts {
        caravan_json::write_line(&mut out, d).unwrap();
    }
    out
}

fn local_uz() -> ValidationContext {
    ValidationContext::local("UZ")
}

fn source(name: &str, format: Format) -> IngestSource {
    IngestSource {
        name: name.into(),
        format: format.name().into(),
        provenance: Provenance::Local,
    }
}

fn run(
    store: &SqliteStore,
    bytes: &[u8],
    format: Format,
) -> Result<caravan_ingest::pipeline::IngestReport, IngestError> {
    ingest(
        store,
        Cursor::new(bytes.to_vec()),
        format,
        &source("test-file", format),
        &local_uz(),
        Mode::WholeFile,
    )
}

fn store() -> SqliteStore {
    SqliteStore::in_memory().unwrap()
}

#[test]
fn csv_and_json_round_trip_drafts() {
    let drafts = vec![uz_export("UZ-EX-1", 3), uz_export("UZ-EX-2", 1)];
    let csv: Vec<_> = CsvReader::new(&csv_bytes(&drafts)[..])
        .map(|r| r.unwrap().draft)
        .collect();
    assert_eq!(csv, drafts);
    let json: Vec<_> = JsonReader::new(&json_bytes(&drafts)[..])
        .map(|r| r.unwrap().draft)
        .collect();
    assert_eq!(json, drafts);
}

#[test]
fn csv_records_carry_their_lines() {
    let drafts = vec![uz_export("UZ-EX-1", 3), uz_export("UZ-EX-2", 2)];
    let located: Vec<_> = CsvReader::new(&csv_bytes(&drafts)[..])
        .map(|r| r.unwrap().locator)
        .collect();
    assert_eq!(
        located
            .iter()
            .map(|l| (l.line, l.record))
            .collect::<Vec<_>>(),
        [(2, 1), (5, 2)]
    );
}

#[test]
fn a_good_file_is_stored_and_a_replay_changes_nothing() {
    let store = store();
    let bytes = csv_bytes(&[uz_export("UZ-EX-1", 3), uz_export("UZ-EX-2", 2)]);
    let report = run(&store, &bytes, Format::CaravanCsv).unwrap();
    assert_eq!(
        (
            report.batch.inserted,
            report.batch.items,
            report.batch.replayed
        ),
        (2, 5, 0)
    );
    let counts = store.counts().unwrap();
    assert_eq!(
        (
            counts.declarations,
            counts.exports,
            counts.items,
            counts.parties,
            counts.containers
        ),
        (2, 2, 5, 6, 2)
    );

    // The same declarations again, even in another syntax: idempotent replays.
    let again = run(
        &store,
        &json_bytes(&[uz_export("UZ-EX-1", 3)]),
        Format::CaravanJson,
    )
    .unwrap();
    assert_eq!((again.batch.inserted, again.batch.replayed), (0, 1));
    let after = store.counts().unwrap();
    assert_eq!(
        StoreCounts {
            runs: counts.runs,
            ..after
        },
        counts
    );
    assert_eq!(after.runs, 2);

    let stored = store.declaration("304426154", "UZ-EX-1").unwrap();
    let doc = JsonReader::new(&stored.document[..])
        .next()
        .unwrap()
        .unwrap()
        .draft;
    assert_eq!(doc.items.len(), 3);
    let declarant = doc.parties.iter().find(|p| p.role == "DT").unwrap();
    assert_eq!(
        declarant.name.as_deref(),
        Some("ООО «Ташкент Текстиль», склад №2")
    );
}

/// Ingests `bytes` into a store that already holds one file, and asserts the refusal left
/// the store exactly as it was.
#[track_caller]
fn refused(bytes: &[u8], format: Format) -> IngestError {
    let store = store();
    run(
        &store,
        &csv_bytes(&[uz_export("UZ-BASE-1", 2)]),
        Format::CaravanCsv,
    )
    .unwrap();
    let before = store.counts().unwrap();
    let err = run(&store, bytes, format).unwrap_err();
    assert_eq!(
        store.counts().unwrap(),
        before,
        "a refused file changed the store: {err}"
    );
    err
}

#[track_caller]
fn rejected_with(bytes: &[u8], format: Format, code: &str, path: &str) {
    match refused(bytes, format) {
        IngestError::Rejected {
            rejections,
            n_rejected,
            file,
        } => {
            assert_eq!(file, "test-file");
            assert_eq!(n_rejected, 1);
            let f = rejections[0].findings.iter().find(|f| f.code == code);
            let f = f.unwrap_or_else(|| panic!("no {code} in {:#?}", rejections[0].findings));
            assert_eq!(f.path, path);
            assert!(f.value.is_some() || code.ends_with("MISSING"), "{f:?}");
        }
        other => panic!("expected a rejection with {code}, got {other}"),
    }
}

#[track_caller]
fn syntax_error(bytes: &[u8], format: Format, code: &str) -> caravan_ingest::error::SyntaxError {
    match refused(bytes, format) {
        IngestError::Syntax { error, .. } => {
            assert_eq!(error.code, code, "{error}");
            *error
        }
        other => panic!("expected syntax error {code}, got {other}"),
    }
}

#[test]
fn every_kind_of_bad_record_is_refused_whole() {
    let good = uz_export("UZ-OK-1", 2);
    let with = |mutate: fn(&mut DeclarationDraft)| {
        let mut bad = uz_export("UZ-BAD-1", 2);
        mutate(&mut bad);
        csv_bytes(&[good.clone(), bad])
    };
    rejected_with(
        &with(|d| d.items[1].commodity_code = Some("9999990000".into())),
        Format::CaravanCsv,
        "DECL_HS6_UNKNOWN",
        "items[2].commodity_code",
    );
    rejected_with(
        &with(|d| d.items[0].origin_country = Some("QQ".into())),
        Format::CaravanCsv,
        "ID_COUNTRY_UNKNOWN",
        "items[1].origin_country",
    );
    rejected_with(
        &with(|d| d.header.invoice_currency = Some("ABC".into())),
        Format::CaravanCsv,
        "ID_CURRENCY_UNKNOWN",
        "header.invoice_currency",
    );
    rejected_with(
        &with(|d| d.items[0].gross_mass = Some("-3".into())),
        Format::CaravanCsv,
        "DECL_MASS_NEGATIVE",
        "items[1].gross_mass",
    );
    rejected_with(
        &with(|d| d.items[0].gross_mass = Some("9000000000".into())),
        Format::CaravanCsv,
        "DECL_MASS_ABSURD",
        "items[1].gross_mass",
    );
    rejected_with(
        &with(|d| d.items[0].customs_value = Some("-1".into())),
        Format::CaravanCsv,
        "DECL_AMOUNT_NEGATIVE",
        "items[1].customs_value",
    );
    rejected_with(
        &with(|d| d.parties[0].id = Some("30618082".into())),
        Format::CaravanCsv,
        "ID_STIR_FORMAT",
        "parties[EX].id",
    );
    rejected_with(
        &with(|d| d.parties[1].id_scheme = Some("LEI".into())),
        Format::CaravanCsv,
        "ID_LEI_FORMAT",
        "parties[CN].id",
    );
    rejected_with(
        &json_bytes(&[good.clone(), {
            let mut d = uz_export("UZ-BAD-2", 1);
            d.items[0].sequence = "2".into();
            d
        }]),
        Format::CaravanJson,
        "DECL_ITEM_SEQUENCE",
        "items[1].sequence",
    );
}

#[test]
fn a_duplicate_reference_with_other_content_is_refused() {
    let mut changed = uz_export("UZ-BASE-1", 2);
    changed.items[0].customs_value = Some("99".into());
    match refused(
        &csv_bytes(&[uz_export("UZ-NEW-1", 1), changed]),
        Format::CaravanCsv,
    ) {
        IngestError::Duplicate {
            conflict, record, ..
        } => {
            assert_eq!(record, 2);
            assert_eq!(
                conflict,
                Conflict::DuplicateReference {
                    declarant: "304426154".into(),
                    lrn: "UZ-BASE-1".into()
                }
            );
        }
        other => panic!("expected a duplicate, got {other}"),
    }
}

#[test]
fn malformed_files_get_specific_syntax_errors() {
    let good = csv_bytes(&[uz_export("UZ-OK-1", 2)]);
    let text = String::from_utf8(good.clone()).unwrap();
    let header = text.lines().next().unwrap();

    let err = syntax_error(
        format!("{header},colour\n").as_bytes(),
        Format::CaravanCsv,
        "CSV_UNKNOWN_COLUMN",
    );
    assert_eq!(err.field.as_deref(), Some("colour"));
    syntax_error(
        b"lrn,type_code\nA,IMA\n",
        Format::CaravanCsv,
        "CSV_MISSING_COLUMN",
    );
    let err = syntax_error(
        format!("{text}too,few,fields\n").as_bytes(),
        Format::CaravanCsv,
        "CSV_FIELD_COUNT",
    );
    assert_eq!(err.locator.line, 4);
    let mut latin1 = good.clone();
    let at = latin1.len() - 20;
    latin1.insert(at, 0xE9);
    syntax_error(&latin1, Format::CaravanCsv, "CSV_NOT_UTF8");
    // Two rows of one declaration that disagree on a declaration-level cell.
    let mut rows: Vec<String> = text.lines().map(str::to_owned).collect();
    rows[2] = rows[2].replacen("EXA", "EXD", 1);
    let err = syntax_error(
        (rows.join("\n") + "\n").as_bytes(),
        Format::CaravanCsv,
        "CSV_INCONSISTENT_ROWS",
    );
    assert_eq!(err.field.as_deref(), Some("type_code"));

    let json = json_bytes(&[uz_export("UZ-J-1", 1)]);
    syntax_error(
        &json[..json.len() / 2],
        Format::CaravanJson,
        "JSON_TRUNCATED",
    );
    syntax_error(
        b"{\"model_version\" \"1\"}",
        Format::CaravanJson,
        "JSON_MALFORMED",
    );
    syntax_error(
        b"{\"model_version\": \"1\", \"header\": {}}",
        Format::CaravanJson,
        "JSON_SCHEMA",
    );
    let with_extra = String::from_utf8(json.clone()).unwrap().replacen(
        "\"header\"",
        "\"colour\":1,\"header\"",
        1,
    );
    syntax_error(with_extra.as_bytes(), Format::CaravanJson, "JSON_SCHEMA");
    let old = String::from_utf8(json).unwrap().replacen(
        "\"model_version\":\"1\"",
        "\"model_version\":\"0\"",
        1,
    );
    syntax_error(old.as_bytes(), Format::CaravanJson, "JSON_MODEL_VERSION");
    syntax_error(
        b"<?xml version=\"1.0\"?><Declaration xmlns=\"urn:other\"/>",
        Format::WcoXml,
        "XML_NOT_WCO",
    );
    syntax_error(
        b"UNA:+.? 'UNB+UNOW:4+A+B+240101:1200+1'UNH+1+CUSDEC:D:96B:UN'BGM+929+X+9'",
        Format::Cusdec,
        "EDI_TRUNCATED",
    );
}

/// A reader of a header row followed by one line of `len` bytes, generated on the fly.
struct HugeLine {
    header: Vec<u8>,
    pos: u64,
    len: u64,
}

impl Read for HugeLine {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let header_len = self.header.len() as u64;
        let total = header_len + self.len;
        if self.pos >= total {
            return Ok(0);
        }
        let mut n = 0;
        while n < buf.len() && self.pos < total {
            buf[n] = if self.pos < header_len {
                self.header[self.pos as usize]
            } else {
                b'x'
            };
            n += 1;
            self.pos += 1;
        }
        Ok(n)
    }
}

#[test]
fn a_two_gigabyte_line_fails_fast_without_filling_memory() {
    let store = store();
    let header = String::from_utf8(csv_bytes(&[uz_export("UZ-OK-1", 1)])).unwrap();
    let header = format!("{}\n", header.lines().next().unwrap()).into_bytes();
    let huge = HugeLine {
        header,
        pos: 0,
        len: 2 << 30,
    };
    let err = ingest(
        &store,
        huge,
        Format::CaravanCsv,
        &source("huge.csv", Format::CaravanCsv),
        &local_uz(),
        Mode::WholeFile,
    )
    .unwrap_err();
    match err {
        IngestError::Syntax { error, .. } => {
            assert_eq!((error.code, error.locator.line), ("CSV_LINE_TOO_LONG", 2));
        }
        other => panic!("expected CSV_LINE_TOO_LONG, got {other}"),
    }
    assert_eq!(store.counts().unwrap().declarations, 0);
    let huge_json = HugeLine {
        header: b"{\"model_version\":\"".to_vec(),
        pos: 0,
        len: 2 << 30,
    };
    let err = ingest(
        &store,
        huge_json,
        Format::CaravanJson,
        &source("huge.json", Format::CaravanJson),
        &local_uz(),
        Mode::WholeFile,
    )
    .unwrap_err();
    assert!(
        matches!(err, IngestError::Syntax { ref error, .. } if error.code == "JSON_LINE_TOO_LONG"),
        "{err}"
    );
}

#[test]
fn quarantine_stores_the_good_and_explains_the_bad() {
    let store = store();
    let mut bad = uz_export("UZ-BAD-9", 1);
    bad.items[0].commodity_code = Some("12".into());
    let bytes = csv_bytes(&[uz_export("UZ-Q-1", 2), bad, uz_export("UZ-Q-2", 1)]);
    let mut sink = Vec::new();
    let report = ingest(
        &store,
        Cursor::new(bytes),
        Format::CaravanCsv,
        &source("q.csv", Format::CaravanCsv),
        &local_uz(),
        Mode::Quarantine(&mut sink),
    )
    .unwrap();
    assert_eq!(
        (report.batch.inserted, report.quarantined, report.records),
        (2, 1, 3)
    );
    assert_eq!(store.counts().unwrap().declarations, 2);
    let lines: Vec<serde_json::Value> = sink
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["record"], 2);
    assert_eq!(lines[0]["lrn"], "UZ-BAD-9");
    assert_eq!(lines[0]["reasons"][0]["code"], "DECL_HS_FORMAT");
    assert_eq!(lines[0]["reasons"][0]["path"], "items[1].commodity_code");
    assert_eq!(lines[0]["declaration"]["header"]["lrn"], "UZ-BAD-9");
}

#[test]
fn all_hmrc_samples_ingest_as_partner_data() {
    let store = store();
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hmrc-wco-xml");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 40);
    let ctx = ValidationContext::partner("US");
    let mut warnings = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let source = IngestSource {
            name: name.clone(),
            format: "wco-xml".into(),
            provenance: Provenance::Partner,
        };
        let report = ingest(
            &store,
            std::fs::File::open(path).unwrap(),
            Format::WcoXml,
            &source,
            &ctx,
            Mode::WholeFile,
        )
        .unwrap_or_else(|err| match err {
            IngestError::Rejected { rejections, .. } => {
                panic!("{name}: {:#?}", rejections[0].findings)
            }
            other => panic!("{name}: {other}"),
        });
        warnings += report.warnings;
    }
    let counts = store.counts().unwrap();
    assert_eq!(counts.declarations, 40);
    assert!(warnings > 0);
    // Every container number in the samples fails ISO 6346; each is kept, with a warning.
    assert!(counts.containers >= 10, "{counts:?}");
    let bytes = std::fs::read(dir.join("TT_EX001a__TT_EX001a.xml")).unwrap();
    let draft = caravan_ingest::format::wco_xml::read_document(&bytes)
        .unwrap()
        .draft;
    let declaration = caravan_domain::declaration::validate::validate(&draft, &ctx)
        .unwrap()
        .declaration;
    let stored = store
        .declaration(&declaration.declarant_key(), &declaration.header.lrn)
        .unwrap();
    let container = stored
        .findings
        .iter()
        .find(|f| f.path == "transport.equipment[1].container_id")
        .unwrap();
    assert_eq!(
        (container.code.as_str(), container.value.as_deref()),
        ("ID_ISO6346_CHECK_DIGIT", Some("CONU1234567"))
    );
}

#[test]
fn quarantine_explains_a_duplicate_reference_and_keeps_the_rest() {
    let store = store();
    run(
        &store,
        &csv_bytes(&[uz_export("UZ-D-1", 1)]),
        Format::CaravanCsv,
    )
    .unwrap();
    let mut changed = uz_export("UZ-D-1", 1);
    changed.items[0].customs_value = Some("1".into());
    let bytes = csv_bytes(&[changed, uz_export("UZ-D-2", 2)]);
    let mut sink = Vec::new();
    let report = ingest(
        &store,
        Cursor::new(bytes),
        Format::CaravanCsv,
        &source("d.csv", Format::CaravanCsv),
        &local_uz(),
        Mode::Quarantine(&mut sink),
    )
    .unwrap();
    assert_eq!((report.batch.inserted, report.quarantined), (1, 1));
    assert_eq!(store.counts().unwrap().declarations, 2);
    let line: serde_json::Value =
        serde_json::from_slice(sink.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(line["reasons"][0]["code"], "DECL_DUPLICATE_REFERENCE");
    assert_eq!(line["record"], 1);
}

#[test]
fn the_audit_chain_commits_to_what_was_stored_in_order() {
    use caravan_ingest::pipeline::{audit_chain_next, audit_chain_start, canonical_document};
    use sha2::{Digest, Sha256};
    let drafts = [uz_export("UZ-A-1", 2), uz_export("UZ-A-2", 1)];
    let store = store();
    let report = run(&store, &csv_bytes(&drafts), Format::CaravanCsv).unwrap();
    let mut expected = audit_chain_start();
    for d in &drafts {
        let declaration = caravan_domain::declaration::validate::validate(d, &local_uz())
            .unwrap()
            .declaration;
        let digest: [u8; 32] = Sha256::digest(canonical_document(&declaration)).into();
        expected = audit_chain_next(&expected, &digest);
    }
    assert_eq!(report.audit_head, expected);
    // A replay stores nothing, so its chain is empty.
    let replay = run(&store, &csv_bytes(&drafts), Format::CaravanCsv).unwrap();
    assert_eq!(replay.audit_head, audit_chain_start());
    // Order matters.
    let swapped = [uz_export("UZ-A-2", 1), uz_export("UZ-A-1", 2)];
    let other = run(&self::store(), &csv_bytes(&swapped), Format::CaravanCsv).unwrap();
    assert_ne!(other.audit_head, report.audit_head);
}
