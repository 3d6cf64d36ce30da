//! Short code lists from standards too small to ship as files: Incoterms and UN/ECE
//! Recommendation 19 transport modes.

/// Incoterms 2010 rules.
pub const INCOTERMS_2010: &[&str] = &[
    "EXW", "FCA", "CPT", "CIP", "DAT", "DAP", "DDP", "FAS", "FOB", "CFR", "CIF",
];

/// Incoterms 2020 rules (DAT was renamed DPU).
pub const INCOTERMS_2020: &[&str] = &[
    "EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF",
];

/// Every Incoterms 2010 or 2020 rule: the delivery terms (WCO 090) that raise no warning.
pub const INCOTERMS: &[&str] = &[
    "EXW", "FCA", "CPT", "CIP", "DAT", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF",
];

/// Whether `code` is an Incoterms 2010 or 2020 rule. Surrounding spaces and case are ignored.
pub fn is_incoterm(code: &str) -> bool {
    let code = code.trim();
    INCOTERMS.iter().any(|term| term.eq_ignore_ascii_case(code))
}

/// UN/ECE Recommendation 19 modes of transport, code and name. Code 9 is "not applicable"
/// in Rec 19; the EU and UK use it for goods moving under their own propulsion.
pub const TRANSPORT_MODES: &[(u8, &str)] = &[
    (0, "Transport mode not specified"),
    (1, "Maritime transport"),
    (2, "Rail transport"),
    (3, "Road transport"),
    (4, "Air transport"),
    (5, "Mail"),
    (6, "Multimodal transport"),
    (7, "Fixed transport installations"),
    (8, "Inland water transport"),
    (9, "Transport mode not applicable (own propulsion)"),
];

/// The Rec 19 name of transport mode `code`, or `None` outside 0–9.
pub fn transport_mode_name(code: u8) -> Option<&'static str> {
    TRANSPORT_MODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}
