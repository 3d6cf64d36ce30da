//! Declarations for store tests, built the way production builds them: a
//! [`DeclarationDraft`] is validated as partner data, written as its canonical document,
//! and hashed with SHA-256. Nothing here bypasses validation, so a fixture that stops
//! being valid (because a rule changed) fails loudly instead of testing a fiction.

use caravan_domain::declaration::draft::{
    AddressDraft, DeclarationDraft, EquipmentDraft, GoodsItemDraft, HeaderDraft, OutcomeDraft,
    PartyDraft, TransportDraft,
};
use caravan_domain::declaration::model::Declaration;
use caravan_domain::declaration::validate::{
    Finding, Provenance, Severity, ValidationContext, validate,
};
use caravan_ingest::pipeline::canonical_document;
use caravan_store::{DeclarationRecord, IngestSource, StoredFinding};
use sha2::{Digest, Sha256};

/// Declarant identifier used by every fixture.
pub const DECLARANT_ID: &str = "US-DECLARANT-0001";

/// A declaration ready for [`caravan_store::IngestBatch::put`], owning what the record borrows.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The validated declaration.
    pub declaration: Declaration,
    /// Its warnings and infos.
    pub findings: Vec<Finding>,
    /// Canonical document.
    pub document: Vec<u8>,
    /// SHA-256 of `document`.
    pub digest: [u8; 32],
    /// Record number within the pretend source file.
    pub source_record: u64,
}

impl Prepared {
    /// The record to hand to a batch.
    pub fn record(&self) -> DeclarationRecord<'_> {
        DeclarationRecord {
            declaration: &self.declaration,
            findings: &self.findings,
            document: &self.document,
            digest: self.digest,
            source_record: self.source_record,
        }
    }

    /// The store key: (declarant key, LRN).
    pub fn key(&self) -> (String, String) {
        (
            self.declaration.declarant_key(),
            self.declaration.header.lrn.clone(),
        )
    }

    /// Number of warnings among the findings.
    pub fn warnings(&self) -> u64 {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count() as u64
    }

    /// The findings as a store returns them.
    pub fn stored_findings(&self) -> Vec<StoredFinding> {
        self.findings
            .iter()
            .map(|f| StoredFinding {
                severity: f.severity.as_str().to_owned(),
                code: f.code.to_owned(),
                path: f.path.clone(),
                value: f.value.clone(),
                message: f.message.clone(),
            })
            .collect()
    }
}

/// Validates `draft` as partner data at a US node and prepares its record.
///
/// # Panics
/// If the draft is rejected: a fixture must be valid, and the findings say why it is not.
pub fn prepare(draft: &DeclarationDraft, source_record: u64) -> Prepared {
    match validate(draft, &ValidationContext::partner("US")) {
        Ok(validated) => {
            let document = canonical_document(&validated.declaration);
            let digest: [u8; 32] = Sha256::digest(&document).into();
            Prepared {
                declaration: validated.declaration,
                findings: validated.findings,
                document,
                digest,
                source_record,
            }
        }
        Err(rejected) => {
            let errors: Vec<String> = rejected.errors().map(ToString::to_string).collect();
            panic!(
                "fixture {:?} is rejected: {}",
                draft.header.lrn,
                errors.join("; ")
            )
        }
    }
}

/// An ingest source for tests.
pub fn source(name: &str) -> IngestSource {
    IngestSource {
        name: name.to_owned(),
        format: "caravan-json".to_owned(),
        provenance: Provenance::Partner,
    }
}

fn party(role: &str, id: Option<&str>, name: &str, country: &str) -> PartyDraft {
    PartyDraft {
        role: role.to_owned(),
        id_scheme: id.map(|_| "OTHER".to_owned()),
        id: id.map(str::to_owned),
        name: Some(name.to_owned()),
        address: AddressDraft {
            city: Some("Tashkent".to_owned()),
            country: Some(country.to_owned()),
            ..AddressDraft::default()
        },
        function_code: None,
    }
}

fn item(
    sequence: u32,
    code: &str,
    description: &str,
    gross: &str,
    net: &str,
    price: &str,
) -> GoodsItemDraft {
    GoodsItemDraft {
        sequence: sequence.to_string(),
        commodity_code: Some(code.to_owned()),
        description: Some(description.to_owned()),
        origin_country: Some("UZ".to_owned()),
        gross_mass: Some(gross.to_owned()),
        net_mass: Some(net.to_owned()),
        quantity: Some("100".to_owned()),
        quantity_unit: Some("NAR".to_owned()),
        item_price: Some(price.to_owned()),
        customs_value: Some(price.to_owned()),
        procedure: Some("4000".to_owned()),
        ..GoodsItemDraft::default()
    }
}

/// An import of cotton goods from Uzbekistan: three goods items, one valid container, five
/// parties, a green-lane outcome. With `generic` the second item is described as "parts",
/// which validation keeps as a warning.
pub fn import_draft(lrn: &str, generic: bool) -> DeclarationDraft {
    DeclarationDraft {
        header: HeaderDraft {
            type_code: "IMA".to_owned(),
            function_code: "9".to_owned(),
            lrn: lrn.to_owned(),
            issued_at: Some("2025-03-14T09:30:00+05:00".to_owned()),
            goods_item_count: Some("3".to_owned()),
            invoice_total: Some("15250.50".to_owned()),
            invoice_currency: Some("USD".to_owned()),
            ..HeaderDraft::default()
        },
        parties: vec![
            party("DT", Some(DECLARANT_ID), "Silk Road Brokers LLC", "US"),
            party("IM", Some("US-IMPORTER-0042"), "Ocean Cotton Inc.", "US"),
            party("EX", None, "Ташкент Текстиль ООО", "UZ"),
            party("SE", None, "Tashkent Textile LLC", "UZ"),
            party("BY", Some("US-IMPORTER-0042"), "Ocean Cotton Inc.", "US"),
        ],
        transport: TransportDraft {
            container_indicator: Some("1".to_owned()),
            equipment: vec![EquipmentDraft {
                container_id: "CSQU3054383".to_owned(),
                seals: vec!["SEAL123".to_owned()],
            }],
            border_mode: Some("1".to_owned()),
            dispatch_country: Some("UZ".to_owned()),
            destination_country: Some("US".to_owned()),
            ..TransportDraft::default()
        },
        items: vec![
            item(
                1,
                "520812",
                "Unbleached plain cotton woven fabric",
                "1200.5",
                "1150",
                "9000.25",
            ),
            item(
                2,
                "610910",
                if generic {
                    "parts"
                } else {
                    "Cotton T-shirts, knitted"
                },
                "300",
                "280",
                "4250.25",
            ),
            item(
                3,
                "620342",
                "Men's cotton trousers",
                "210.125",
                "200",
                "2000",
            ),
        ],
        outcome: Some(OutcomeDraft {
            lane: "green".to_owned(),
            ..OutcomeDraft::default()
        }),
        amendments: Vec::new(),
    }
}

/// An export of machinery parts to Uzbekistan: two goods items and two containers, the
/// second with a wrong ISO 6346 check digit (a warning).
pub fn export_draft(lrn: &str) -> DeclarationDraft {
    DeclarationDraft {
        header: HeaderDraft {
            type_code: "EXD".to_owned(),
            function_code: "9".to_owned(),
            lrn: lrn.to_owned(),
            goods_item_count: Some("2".to_owned()),
            invoice_total: Some("78000".to_owned()),
            invoice_currency: Some("USD".to_owned()),
            ..HeaderDraft::default()
        },
        parties: vec![
            party("DT", Some(DECLARANT_ID), "Silk Road Brokers LLC", "US"),
            party(
                "EX",
                Some("US-EXPORTER-0007"),
                "Prairie Machines Corp.",
                "US",
            ),
            party("CN", None, "Андижан Агро", "UZ"),
        ],
        transport: TransportDraft {
            container_indicator: Some("1".to_owned()),
            equipment: vec![
                EquipmentDraft {
                    container_id: "CSQU3054383".to_owned(),
                    seals: Vec::new(),
                },
                EquipmentDraft {
                    container_id: "MSCU1234560".to_owned(),
                    seals: Vec::new(),
                },
            ],
            border_mode: Some("1".to_owned()),
            dispatch_country: Some("US".to_owned()),
            destination_country: Some("UZ".to_owned()),
            ..TransportDraft::default()
        },
        items: vec![
            item(1, "843280", "Agricultural rollers", "5400", "5000", "48000"),
            item(
                2,
                "843290",
                "Parts of harvesting machinery",
                "2100",
                "2000",
                "30000",
            ),
        ],
        outcome: None,
        amendments: Vec::new(),
    }
}

/// The same draft with a different invoice total: same key, different content.
pub fn altered(draft: &DeclarationDraft) -> DeclarationDraft {
    let mut draft = draft.clone();
    draft.header.invoice_total = Some("1.000".to_owned());
    draft
}
