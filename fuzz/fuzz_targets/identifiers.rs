//! Identifier parsers and declaration validation never panic on any text.
#![no_main]

use caravan_domain::declaration::draft::{DeclarationDraft, GoodsItemDraft};
use caravan_domain::declaration::validate::{ValidationContext, validate};
use caravan_domain::id;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = id::ContainerNumber::parse(text);
    let _ = id::AirWaybill::parse(text);
    let _ = id::CbpEntryNumber::parse(text);
    let _ = id::Lei::parse(text);
    let _ = id::HsCode::parse(text);
    let _ = id::UnLocode::parse(text);
    let mut draft = DeclarationDraft::default();
    draft.header.type_code = text.to_owned();
    draft.header.lrn = text.to_owned();
    draft.header.invoice_total = Some(text.to_owned());
    draft.items.push(GoodsItemDraft {
        sequence: text.to_owned(),
        commodity_code: Some(text.to_owned()),
        gross_mass: Some(text.to_owned()),
        ..Default::default()
    });
    let _ = validate(&draft, &ValidationContext::local("US"));
    let _ = validate(&draft, &ValidationContext::partner("UZ"));
});
