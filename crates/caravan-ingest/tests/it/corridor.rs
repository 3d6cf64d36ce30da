//! The corridor generator's output round-trips through every syntax: written, read back
//! and validated, each declaration is the declaration it was (issue: "Done when").

use caravan_corridor::{CorridorConfig, generate};
use caravan_domain::declaration::draft::DeclarationDraft;
use caravan_domain::declaration::model::Declaration;
use caravan_domain::declaration::validate::{ValidationContext, validate};
use caravan_ingest::format::caravan_csv::{CsvReader, CsvWriter};
use caravan_ingest::format::caravan_json::{JsonReader, write_line};
use caravan_ingest::format::cusdec::{self, write_interchange};
use caravan_ingest::format::wco_xml;

fn validated(draft: &DeclarationDraft, ctx: &ValidationContext) -> Declaration {
    match validate(draft, ctx) {
        Ok(v) => v.declaration,
        Err(r) => panic!("{}: {:#?}", draft.header.lrn, r.findings),
    }
}

/// Both nodes' declarations of a seeded corridor, validated as local filings at their node.
fn corridor() -> Vec<(ValidationContext, Vec<Declaration>)> {
    let corridor = generate(&CorridorConfig::with(77, 250));
    [("US", corridor.us), ("UZ", corridor.uz)]
        .into_iter()
        .map(|(country, drafts)| {
            let ctx = ValidationContext::local(country);
            let declarations = drafts.iter().map(|d| validated(d, &ctx)).collect();
            (ctx, declarations)
        })
        .collect()
}

#[track_caller]
fn assert_same(
    ctx: &ValidationContext,
    original: &[Declaration],
    read: Vec<DeclarationDraft>,
    syntax: &str,
) {
    assert_eq!(read.len(), original.len(), "{syntax}: record count");
    for (before, draft) in original.iter().zip(&read) {
        let after = validated(draft, ctx);
        assert_eq!(
            &after, before,
            "{syntax}: {} changed on the way through",
            before.header.lrn
        );
    }
}

#[test]
fn caravan_csv() {
    for (ctx, declarations) in corridor() {
        let mut writer = CsvWriter::new(Vec::new()).unwrap();
        for d in &declarations {
            writer.write(&d.to_draft()).unwrap();
        }
        let bytes = writer.finish().unwrap();
        let read = CsvReader::new(&bytes[..])
            .map(|r| r.unwrap().draft)
            .collect();
        assert_same(&ctx, &declarations, read, "csv");
    }
}

#[test]
fn caravan_json() {
    for (ctx, declarations) in corridor() {
        let mut bytes = Vec::new();
        for d in &declarations {
            write_line(&mut bytes, &d.to_draft()).unwrap();
        }
        let read = JsonReader::new(&bytes[..])
            .map(|r| r.unwrap().draft)
            .collect();
        assert_same(&ctx, &declarations, read, "json");
    }
}

#[test]
fn cusdec_d96b() {
    for (ctx, mut declarations) in corridor() {
        // The customs outcome is not part of a CUSDEC filing (it travels in CUSRES).
        for d in &mut declarations {
            d.outcome = None;
        }
        let drafts: Vec<DeclarationDraft> =
            declarations.iter().map(Declaration::to_draft).collect();
        let mut bytes = Vec::new();
        write_interchange(&mut bytes, "US-CBP", "UZ-DCS", "42", &drafts).unwrap();
        let read = cusdec::reader(&bytes[..])
            .map(|r| r.unwrap().draft)
            .collect();
        assert_same(&ctx, &declarations, read, "cusdec");
    }
}

#[test]
fn wco_dec_dms_xml_round_trips_what_it_can_carry() {
    for (ctx, declarations) in corridor() {
        // DEC-DMS has no slot for some of what a node holds (outcome, arrival dates, LEIs,
        // ...); `carried` drops exactly that, and the rest must survive.
        let carried: Vec<Declaration> = declarations
            .iter()
            .map(|d| validated(&wco_xml::carried(&d.to_draft()), &ctx))
            .collect();
        let mut read = Vec::new();
        for d in &carried {
            let mut bytes = Vec::new();
            wco_xml::write_document(&mut bytes, &wco_xml::carried(&d.to_draft())).unwrap();
            read.push(wco_xml::read_document(&bytes).unwrap().draft);
        }
        assert_same(&ctx, &carried, read, "wco-xml");
        // What is dropped is only what the schema lacks: the goods survive whole.
        for (full, kept) in declarations.iter().zip(&carried) {
            assert_eq!(full.items, kept.items);
            assert_eq!(full.header.lrn, kept.header.lrn);
        }
    }
}
