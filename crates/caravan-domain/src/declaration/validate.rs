//! Every declaration rule of `spec/declarations.md`, in one place, for every syntax.
//!
//! [`validate`] turns a [`DeclarationDraft`] into a typed [`Declaration`] plus findings, or
//! rejects it. Severity follows section 4 of the spec: who issued an identifier and where
//! the data came from decide whether a failed check is an error or a warning. Partner data
//! is never rejected for a defect the partner cannot fix; structural defects (item
//! numbering, counts, negative amounts) are errors for everyone, because the record could
//! not be interpreted.

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate};

use crate::declaration::decimal::{Decimal, DecimalError};
use crate::declaration::draft::{DeclarationDraft, DocumentDraft, PartyDraft};
use crate::declaration::model::{
    Address, Declaration, Declared, Direction, Duty, Equipment, FunctionCode, GoodsItem, Header,
    InspectionResult, Lane, Outcome, Party, PartyId, PartyRole, Transport,
};
use crate::id::{
    AirWaybill, CbpEntryNumber, ContainerNumber, CountryCode, CurrencyCode, HsCode, IdError,
    ImoNumber, PartyIdScheme, UnLocode, check_party_id,
};
use crate::refdata;

/// Where the declaration came from; decides severities (spec section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    /// Filed with this node's own administration.
    Local,
    /// Received from a partner node, or read from foreign documents.
    Partner,
}

/// What validation needs to know about the node doing it.
#[derive(Debug, Clone)]
pub struct ValidationContext {
    /// Local or partner data.
    pub provenance: Provenance,
    /// ISO 3166-1 alpha-2 of the node's administration (`US`, `UZ`).
    pub node_country: String,
    /// The node's customs offices; empty means "not configured" and skips the check.
    pub offices: Vec<String>,
    /// The node's procedure codes; empty means "not configured" and skips the check.
    pub procedures: Vec<String>,
    /// The time against which "issued in the future" is judged; `None` skips the check.
    pub now: Option<DateTime<FixedOffset>>,
}

impl ValidationContext {
    /// Context for partner or foreign data; no node-specific lists apply.
    pub fn partner(node_country: &str) -> ValidationContext {
        ValidationContext {
            provenance: Provenance::Partner,
            node_country: node_country.to_owned(),
            offices: Vec::new(),
            procedures: Vec::new(),
            now: None,
        }
    }

    /// Context for local filings at a node of `node_country`.
    pub fn local(node_country: &str) -> ValidationContext {
        ValidationContext {
            provenance: Provenance::Local,
            ..ValidationContext::partner(node_country)
        }
    }

    fn is_local(&self) -> bool {
        self.provenance == Provenance::Local
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The declaration is rejected as a whole.
    Error,
    /// Accepted; stored with the declaration and shown to officers.
    Warning,
    /// A normalisation that was applied.
    Info,
}

impl Severity {
    /// Stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One rule outcome, with the path of the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error, warning or info.
    pub severity: Severity,
    /// Stable code, e.g. `DECL_HS6_UNKNOWN`.
    pub code: &'static str,
    /// Field path, e.g. `items[2].commodity_code` (items numbered from 1, as declared).
    pub path: String,
    /// The offending value, cut to 80 characters.
    pub value: Option<String>,
    /// The rule, in words.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} at {}",
            self.severity.as_str(),
            self.code,
            self.path
        )?;
        if let Some(value) = &self.value {
            write!(f, " (value {value:?})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// An accepted declaration and what validation noticed about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    /// The typed declaration.
    pub declaration: Declaration,
    /// Warnings and infos (never errors).
    pub findings: Vec<Finding>,
}

/// A rejected declaration: at least one finding is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Every finding, errors first.
    pub findings: Vec<Finding>,
}

impl Rejected {
    /// The errors alone.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }
}

/// Largest credible mass of one goods item or declaration: a million tonnes.
pub const MAX_CREDIBLE_MASS_KG: i64 = 1_000_000_000;

/// Words that describe nothing (spec 2.4: warning).
const GENERIC_DESCRIPTIONS: [&str; 6] = ["parts", "goods", "samples", "various", "misc", "general"];

/// Additional declaration types (DE 1/2) accepted after IM, EX or CO.
const ADDITIONAL_TYPES: &str = "ABCDEFJKQRXYZ";

/// Validates a draft under `ctx`.
pub fn validate(draft: &DeclarationDraft, ctx: &ValidationContext) -> Result<Validated, Rejected> {
    let mut v = Validator {
        ctx,
        findings: Vec::new(),
    };
    let declaration = v.declaration(draft);
    let mut findings = v.findings;
    if findings.iter().any(|f| f.severity == Severity::Error) {
        findings.sort_by_key(|f| f.severity);
        return Err(Rejected { findings });
    }
    match declaration {
        Some(declaration) => Ok(Validated {
            declaration,
            findings,
        }),
        None => Err(Rejected { findings }),
    }
}

struct Validator<'a> {
    ctx: &'a ValidationContext,
    findings: Vec<Finding>,
}

/// Where a finding points, built without allocating: most fields never produce a
/// finding, and formatting a path for each of them was most of validation's cost.
#[derive(Clone, Copy)]
struct Loc<'a> {
    base: &'a str,
    field: &'static str,
}

impl<'a> Loc<'a> {
    fn at(base: &'a str, field: &'static str) -> Loc<'a> {
        Loc { base, field }
    }
}

impl<'a> From<&'a str> for Loc<'a> {
    fn from(base: &'a str) -> Loc<'a> {
        Loc { base, field: "" }
    }
}

impl<'a> From<&'a String> for Loc<'a> {
    fn from(base: &'a String) -> Loc<'a> {
        Loc { base, field: "" }
    }
}

impl fmt::Display for Loc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.base)?;
        if !self.field.is_empty() {
            write!(f, ".{}", self.field)?;
        }
        Ok(())
    }
}

fn cut(value: &str) -> String {
    match value.char_indices().nth(80) {
        None => value.to_owned(),
        Some((i, _)) => format!("{}…", &value[..i]),
    }
}

fn non_blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Validator<'_> {
    fn push<'p>(
        &mut self,
        severity: Severity,
        code: &'static str,
        path: impl Into<Loc<'p>>,
        value: Option<&str>,
        message: impl Into<String>,
    ) {
        let path: Loc<'_> = path.into();
        self.findings.push(Finding {
            severity,
            code,
            path: path.to_string(),
            value: value.map(cut),
            message: message.into(),
        });
    }

    fn error<'p>(
        &mut self,
        code: &'static str,
        path: impl Into<Loc<'p>>,
        value: Option<&str>,
        message: impl Into<String>,
    ) {
        let path: Loc<'_> = path.into();
        self.push(Severity::Error, code, path, value, message);
    }

    fn warn<'p>(
        &mut self,
        code: &'static str,
        path: impl Into<Loc<'p>>,
        value: Option<&str>,
        message: impl Into<String>,
    ) {
        let path: Loc<'_> = path.into();
        self.push(Severity::Warning, code, path, value, message);
    }

    fn severity(&self, error_when_local: bool) -> Severity {
        if error_when_local && self.ctx.is_local() {
            Severity::Error
        } else {
            Severity::Warning
        }
    }

    fn id_finding<'p>(
        &mut self,
        severity: Severity,
        err: &IdError,
        path: impl Into<Loc<'p>>,
        value: &str,
    ) {
        let path: Loc<'_> = path.into();
        self.push(severity, err.code(), path, Some(value), err.to_string());
    }

    /// Parses an identifier; a failure is a finding of `severity`, and the value is kept.
    fn declared<'p, T>(
        &mut self,
        raw: &str,
        path: impl Into<Loc<'p>>,
        severity: Severity,
        parse: impl FnOnce(&str) -> Result<T, IdError>,
    ) -> Declared<T> {
        let path: Loc<'_> = path.into();
        match parse(raw) {
            Ok(value) => Declared::Valid(value),
            Err(err) => {
                self.id_finding(severity, &err, path, raw);
                Declared::Defective {
                    raw: raw.trim().to_owned(),
                    code: err.code(),
                }
            }
        }
    }

    fn country<'p>(
        &mut self,
        raw: &Option<String>,
        path: impl Into<Loc<'p>>,
    ) -> Option<Declared<CountryCode>> {
        let path: Loc<'_> = path.into();
        let raw = non_blank(raw)?;
        let severity = if self.ctx.is_local() || !CountryCode::shape_ok(raw) {
            Severity::Error
        } else {
            Severity::Warning
        };
        Some(self.declared(raw, path, severity, CountryCode::parse))
    }

    fn origin<'p>(
        &mut self,
        raw: &Option<String>,
        path: impl Into<Loc<'p>>,
    ) -> Option<Declared<CountryCode>> {
        let path: Loc<'_> = path.into();
        let raw = non_blank(raw)?;
        // Group codes such as EU are valid origins (spec 2.4) but not ISO 3166-1 entries.
        if matches!(raw, "EU") {
            return Some(Declared::Defective {
                raw: raw.to_owned(),
                code: "ORIGIN_GROUP",
            });
        }
        self.country(&Some(raw.to_owned()), path)
    }

    fn currency<'p>(
        &mut self,
        raw: &Option<String>,
        path: impl Into<Loc<'p>>,
    ) -> Option<Declared<CurrencyCode>> {
        let path: Loc<'_> = path.into();
        let raw = non_blank(raw)?;
        let well_formed = raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_alphabetic());
        let severity = if self.ctx.is_local() || !well_formed {
            Severity::Error
        } else {
            Severity::Warning
        };
        let declared = self.declared(raw, path, severity, CurrencyCode::parse);
        if let Declared::Valid(code) = &declared
            && code.is_withdrawn()
        {
            self.warn(
                "ID_CURRENCY_WITHDRAWN",
                path,
                Some(raw),
                "ISO 4217 currency has been withdrawn",
            );
        }
        Some(declared)
    }

    fn locode<'p>(
        &mut self,
        raw: &Option<String>,
        path: impl Into<Loc<'p>>,
    ) -> Option<Declared<UnLocode>> {
        let path: Loc<'_> = path.into();
        let raw = non_blank(raw)?;
        let declared = self.declared(raw, path, Severity::Warning, UnLocode::parse);
        if let Declared::Valid(code) = &declared
            && !code.is_known()
            && refdata::locodes().covers(&code.as_str()[..2])
        {
            self.warn(
                "ID_LOCODE_UNKNOWN",
                path,
                Some(raw),
                "not in the UN/LOCODE list for this country",
            );
        }
        Some(declared)
    }

    fn decimal<'p>(
        &mut self,
        raw: &Option<String>,
        path: impl Into<Loc<'p>>,
        total: u32,
        fraction: u32,
    ) -> Option<Decimal> {
        let path: Loc<'_> = path.into();
        let raw = non_blank(raw)?;
        match Decimal::parse(raw, total, fraction) {
            Ok(d) => Some(d),
            Err(err) => {
                let code = match err {
                    DecimalError::Syntax => "DECL_NUMBER_FORMAT",
                    DecimalError::TooManyDecimals { .. } | DecimalError::TooManyDigits { .. } => {
                        "DECL_NUMBER_RANGE"
                    }
                };
                self.error(
                    code,
                    path,
                    Some(raw),
                    format!("n..{total},{fraction}: {err}"),
                );
                None
            }
        }
    }

    fn amount<'p>(&mut self, raw: &Option<String>, path: impl Into<Loc<'p>>) -> Option<Decimal> {
        let path: Loc<'_> = path.into();
        let value = self.decimal(raw, path, 16, 3)?;
        if value.is_negative() {
            self.error(
                "DECL_AMOUNT_NEGATIVE",
                path,
                raw.as_deref(),
                "amount must not be negative",
            );
        }
        Some(value)
    }

    fn mass<'p>(
        &mut self,
        raw: &Option<String>,
        path: impl Into<Loc<'p>>,
        must_be_positive: bool,
    ) -> Option<Decimal> {
        let path: Loc<'_> = path.into();
        let value = self.decimal(raw, path, 16, 6)?;
        if value.is_negative() || (must_be_positive && value == Decimal::ZERO) {
            let rule = if must_be_positive {
                "mass must be above zero"
            } else {
                "mass must not be negative"
            };
            self.error("DECL_MASS_NEGATIVE", path, raw.as_deref(), rule);
        } else if value > Decimal::from_int(MAX_CREDIBLE_MASS_KG) {
            self.error(
                "DECL_MASS_ABSURD",
                path,
                raw.as_deref(),
                format!("more than {MAX_CREDIBLE_MASS_KG} kg is not a credible mass"),
            );
        }
        Some(value)
    }

    fn count<'p, T: std::str::FromStr>(
        &mut self,
        raw: &Option<String>,
        path: impl Into<Loc<'p>>,
    ) -> Option<T> {
        let path: Loc<'_> = path.into();
        let raw = non_blank(raw)?;
        match raw.parse::<T>() {
            Ok(n) if raw.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                self.error(
                    "DECL_COUNT_FORMAT",
                    path,
                    Some(raw),
                    "must be a whole number, not negative",
                );
                None
            }
        }
    }

    fn timestamp<'p>(
        &mut self,
        raw: &Option<String>,
        path: impl Into<Loc<'p>>,
    ) -> Option<DateTime<FixedOffset>> {
        let path: Loc<'_> = path.into();
        let raw = non_blank(raw)?;
        let parsed = DateTime::parse_from_rfc3339(raw)
            .or_else(|_| DateTime::parse_from_str(raw, "%Y%m%d%H%M%S%z"))
            .or_else(|_| DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f%z"));
        match parsed {
            Ok(t) => Some(t),
            Err(_) => {
                self.error(
                    "DECL_DATETIME_FORMAT",
                    path,
                    Some(raw),
                    "ISO 8601 date and time with a UTC offset required",
                );
                None
            }
        }
    }

    fn date<'p>(&mut self, raw: &Option<String>, path: impl Into<Loc<'p>>) -> Option<NaiveDate> {
        let path: Loc<'_> = path.into();
        let raw = non_blank(raw)?;
        match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.error(
                    "DECL_DATE_FORMAT",
                    path,
                    Some(raw),
                    "ISO 8601 date (YYYY-MM-DD) required",
                );
                None
            }
        }
    }

    fn text<'p>(
        &mut self,
        raw: &Option<String>,
        path: impl Into<Loc<'p>>,
        max_chars: usize,
    ) -> Option<String> {
        let path: Loc<'_> = path.into();
        let value = raw.as_deref()?;
        if value.trim().is_empty() {
            return None;
        }
        if value.chars().count() > max_chars {
            self.error(
                "DECL_TEXT_TOO_LONG",
                path,
                Some(value),
                format!("at most {max_chars} characters"),
            );
        }
        Some(value.to_owned())
    }

    fn mode<'p>(&mut self, raw: &Option<String>, path: impl Into<Loc<'p>>) -> Option<u8> {
        let path: Loc<'_> = path.into();
        let raw = non_blank(raw)?;
        match raw.parse::<u8>() {
            Ok(m) if m <= 9 && raw.len() == 1 => Some(m),
            _ => {
                self.error(
                    "DECL_TRANSPORT_MODE",
                    path,
                    Some(raw),
                    "UN/ECE Rec 19 mode must be one digit 0-9",
                );
                None
            }
        }
    }

    fn declaration(&mut self, d: &DeclarationDraft) -> Option<Declaration> {
        let header = self.header(d);
        let parties = self.parties(&d.parties);
        let transport = self.transport(d);
        let items = self.items(d);
        let outcome = self.outcome(d);
        let header = header?;
        let direction = match header.direction {
            Direction::Export
                if header.type_code.starts_with("CO")
                    && parties.iter().any(|p| p.role == PartyRole::Importer) =>
            {
                Direction::Import
            }
            other => other,
        };
        let declaration = Declaration {
            header: Header {
                direction,
                ..header
            },
            parties,
            transport,
            items,
            outcome,
            amendments: d.amendments.clone(),
        };
        self.cross_checks(&declaration);
        Some(declaration)
    }

    fn header(&mut self, d: &DeclarationDraft) -> Option<Header> {
        let h = &d.header;
        let type_code = h.type_code.trim().to_ascii_uppercase();
        let direction = match (type_code.get(..2), type_code.get(2..)) {
            _ if type_code == "INV" => Some(Direction::Amendment),
            (Some("IM"), Some(t)) if t.len() == 1 && ADDITIONAL_TYPES.contains(t) => {
                Some(Direction::Import)
            }
            (Some("EX"), Some(t)) if t.len() == 1 && ADDITIONAL_TYPES.contains(t) => {
                Some(Direction::Export)
            }
            (Some("CO"), Some("R")) => Some(Direction::Amendment),
            (Some("CO"), Some(t)) if t.len() == 1 && ADDITIONAL_TYPES.contains(t) => {
                Some(Direction::Export)
            }
            _ => None,
        };
        if direction.is_none() {
            self.error(
                "DECL_TYPE_CODE",
                "header.type_code",
                Some(&h.type_code),
                "declaration type must be IM, EX or CO followed by a known additional type, or INV",
            );
        }
        let function = FunctionCode::parse(&h.function_code);
        if function.is_none() {
            self.error(
                "DECL_FUNCTION_CODE",
                "header.function_code",
                Some(&h.function_code),
                "function code must be 9, 13, 5, 1 or 4",
            );
        }
        let lrn = h.lrn.trim();
        if lrn.is_empty() {
            self.error(
                "DECL_LRN_MISSING",
                "header.lrn",
                None,
                "the trader reference (LRN) is required",
            );
        } else if lrn.chars().count() > 35 {
            self.error(
                "DECL_LRN_TOO_LONG",
                "header.lrn",
                Some(lrn),
                "the LRN is at most 35 characters (an..35)",
            );
        }
        let mrn = self.text(&h.mrn, "header.mrn", 70);
        if let Some(mrn) = &mrn {
            self.check_mrn(mrn);
        }
        let issued_at = self.timestamp(&h.issued_at, "header.issued_at");
        if let (Some(issued), Some(now)) = (issued_at, self.ctx.now)
            && issued > now + chrono::Duration::hours(24)
        {
            self.warn(
                "DECL_ISSUED_IN_FUTURE",
                "header.issued_at",
                h.issued_at.as_deref(),
                "issued more than 24 hours in the future",
            );
        }
        let place_of_issue = self.locode(&h.place_of_issue, "header.place_of_issue");
        let accepted_at = self.timestamp(&h.accepted_at, "header.accepted_at");
        let declaration_office = self.text(&h.declaration_office, "header.declaration_office", 17);
        if let Some(office) = &declaration_office {
            self.check_office(office, "header.declaration_office");
        }
        let goods_item_count = self.count::<u32>(&h.goods_item_count, "header.goods_item_count");
        let total_packages = self.count::<u64>(&h.total_packages, "header.total_packages");
        let total_gross_mass = self.mass(&h.total_gross_mass, "header.total_gross_mass", false);
        let invoice_total = self.amount(&h.invoice_total, "header.invoice_total");
        let invoice_currency = self.currency(&h.invoice_currency, "header.invoice_currency");
        let delivery_terms = self.text(&h.delivery_terms, "header.delivery_terms", 3);
        if let Some(terms) = &delivery_terms
            && !refdata::is_incoterm(terms)
        {
            self.warn(
                "DECL_INCOTERMS",
                "header.delivery_terms",
                Some(terms),
                "not an Incoterms 2010 or 2020 code",
            );
        }
        let valuation_method = self.text(&h.valuation_method, "header.valuation_method", 3);
        if let Some(method) = &valuation_method
            && !matches!(method.as_str(), "1" | "2" | "3" | "4" | "5" | "6")
        {
            self.warn(
                "DECL_VALUATION_METHOD",
                "header.valuation_method",
                Some(method),
                "not a WTO valuation method 1-6",
            );
        }
        let freight_charge = self.amount(&h.freight_charge, "header.freight_charge");
        let freight_currency = self.currency(&h.freight_currency, "header.freight_currency");
        Some(Header {
            type_code,
            direction: direction?,
            function: function?,
            lrn: lrn.to_owned(),
            mrn,
            issued_at,
            place_of_issue,
            accepted_at,
            declaration_office,
            goods_item_count,
            total_packages,
            total_gross_mass,
            invoice_total,
            invoice_currency,
            ucr: self.text(&h.ucr, "header.ucr", 35),
            delivery_terms,
            delivery_place: self.text(&h.delivery_place, "header.delivery_place", 17),
            valuation_method,
            nature_of_transaction: self.text(
                &h.nature_of_transaction,
                "header.nature_of_transaction",
                2,
            ),
            freight_charge,
            freight_currency,
            freight_payment_method: self.text(
                &h.freight_payment_method,
                "header.freight_payment_method",
                3,
            ),
        })
    }

    fn check_mrn(&mut self, mrn: &str) {
        // A US entry number carries a CATAIR check digit; Uzbek numbers are format only.
        let us_local = self.ctx.is_local() && self.ctx.node_country == "US";
        let entry_shaped = {
            let compact: String = mrn.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            compact.len() == 11 && compact[3..].bytes().all(|b| b.is_ascii_digit())
        };
        if (us_local || entry_shaped)
            && let Err(err) = CbpEntryNumber::parse(mrn)
        {
            let severity = if us_local {
                Severity::Error
            } else {
                Severity::Warning
            };
            self.id_finding(severity, &err, "header.mrn", mrn);
        }
    }

    fn check_office<'p>(&mut self, office: &str, path: impl Into<Loc<'p>>) {
        let path: Loc<'_> = path.into();
        if self.ctx.is_local()
            && !self.ctx.offices.is_empty()
            && !self.ctx.offices.iter().any(|o| o == office)
        {
            self.error(
                "DECL_OFFICE_UNKNOWN",
                path,
                Some(office),
                "not one of this node's customs offices",
            );
        }
    }

    fn parties(&mut self, drafts: &[PartyDraft]) -> Vec<Party> {
        let mut parties = Vec::with_capacity(drafts.len());
        for draft in drafts {
            let Some(role) = PartyRole::parse(&draft.role) else {
                self.error("DECL_PARTY_ROLE", "parties", Some(&draft.role), "party role must be a UN 3035 code in use (EX, CZ, CN, IM, DT, AE, CB, SE, BY, CA, NI, MF)");
                continue;
            };
            let path = format!("parties[{}]", role.code());
            let id = self.party_id(draft, &path);
            let name = self.text(&draft.name, Loc::at(&path, "name"), 70);
            let address = Address {
                line: self.text(&draft.address.line, Loc::at(&path, "address.line"), 70),
                city: self.text(&draft.address.city, Loc::at(&path, "address.city"), 35),
                postcode: self.text(
                    &draft.address.postcode,
                    Loc::at(&path, "address.postcode"),
                    9,
                ),
                country: self.country(&draft.address.country, Loc::at(&path, "address.country")),
                subdivision: self.text(
                    &draft.address.subdivision,
                    Loc::at(&path, "address.subdivision"),
                    9,
                ),
            };
            if matches!(
                role,
                PartyRole::Exporter | PartyRole::Consignor | PartyRole::Consignee
            ) && id.is_none()
                && (name.is_none() || address.country.is_none())
            {
                self.error(
                    "DECL_PARTY_INCOMPLETE",
                    &path,
                    None,
                    "an identifier, or a name and a country, is required",
                );
            }
            parties.push(Party {
                role,
                id,
                name,
                address,
                function_code: self.text(&draft.function_code, Loc::at(&path, "function_code"), 3),
            });
        }
        // Canonical order, so the same declaration compares equal whatever the syntax.
        parties.sort_by_key(|p| p.role);
        parties
    }

    fn party_id<'p>(&mut self, draft: &PartyDraft, path: impl Into<Loc<'p>>) -> Option<PartyId> {
        let path: Loc<'_> = path.into();
        let raw = non_blank(&draft.id)?;
        let scheme = match non_blank(&draft.id_scheme) {
            None => PartyIdScheme::Other,
            Some(s) => match PartyIdScheme::parse(s) {
                Ok(scheme) => scheme,
                Err(_) => {
                    self.warn(
                        "ID_SCHEME_UNKNOWN",
                        Loc::at(path.base, "id_scheme"),
                        Some(s),
                        "unknown identifier scheme; stored verbatim",
                    );
                    PartyIdScheme::Other
                }
            },
        };
        let own_scheme = match self.ctx.node_country.as_str() {
            "US" => matches!(scheme, PartyIdScheme::UsEin | PartyIdScheme::UsIor),
            "UZ" => matches!(scheme, PartyIdScheme::UzStir),
            _ => false,
        };
        let severity = self.severity(own_scheme || scheme == PartyIdScheme::Lei);
        let value = self.declared(raw, Loc::at(path.base, "id"), severity, |raw| {
            check_party_id(scheme, raw)
        });
        Some(PartyId { scheme, value })
    }

    fn transport(&mut self, d: &DeclarationDraft) -> Transport {
        let t = &d.transport;
        let container_indicator = match non_blank(&t.container_indicator) {
            None => None,
            Some("1") => Some(true),
            Some("0") => Some(false),
            Some(other) => {
                self.error(
                    "DECL_CONTAINER_INDICATOR",
                    "transport.container_indicator",
                    Some(other),
                    "must be 0 or 1",
                );
                None
            }
        };
        let equipment: Vec<Equipment> = t
            .equipment
            .iter()
            .enumerate()
            .map(|(n, e)| {
                let path = format!("transport.equipment[{}].container_id", n + 1);
                // Container owners worldwide issue these numbers: always a warning.
                let container = self.declared(
                    &e.container_id,
                    &path,
                    Severity::Warning,
                    ContainerNumber::parse,
                );
                Equipment {
                    container,
                    seals: e.seals.clone(),
                }
            })
            .collect();
        if container_indicator == Some(true) && equipment.is_empty() {
            self.warn(
                "DECL_CONTAINER_MISSING",
                "transport.equipment",
                None,
                "container indicator is 1 but no equipment is listed",
            );
        }
        let border_means_type = self.text(&t.border_means_type, "transport.border_means_type", 17);
        let border_means_id = self.text(&t.border_means_id, "transport.border_means_id", 35);
        if let (Some(kind), Some(id)) = (&border_means_type, &border_means_id)
            && (kind == "10" || kind.eq_ignore_ascii_case("IMO"))
            && let Err(err) = ImoNumber::parse(id)
        {
            self.id_finding(Severity::Warning, &err, "transport.border_means_id", id);
        }
        let documents = t.documents.clone();
        for (n, doc) in documents.iter().enumerate() {
            self.check_transport_document(doc, &format!("transport.documents[{}]", n + 1));
        }
        Transport {
            container_indicator,
            equipment,
            border_mode: self.mode(&t.border_mode, "transport.border_mode"),
            inland_mode: self.mode(&t.inland_mode, "transport.inland_mode"),
            border_means_id,
            border_means_type,
            border_means_nationality: self.country(
                &t.border_means_nationality,
                "transport.border_means_nationality",
            ),
            arrival_means_id: self.text(&t.arrival_means_id, "transport.arrival_means_id", 35),
            arrival_means_type: self.text(
                &t.arrival_means_type,
                "transport.arrival_means_type",
                17,
            ),
            departure_means_id: self.text(
                &t.departure_means_id,
                "transport.departure_means_id",
                35,
            ),
            documents,
            goods_location: self.text(&t.goods_location, "transport.goods_location", 256),
            loading_place: self.locode(&t.loading_place, "transport.loading_place"),
            unloading_place: self.locode(&t.unloading_place, "transport.unloading_place"),
            dispatch_country: self.country(&t.dispatch_country, "transport.dispatch_country"),
            destination_country: self
                .country(&t.destination_country, "transport.destination_country"),
            routing_countries: t
                .routing_countries
                .iter()
                .enumerate()
                .filter_map(|(n, c)| {
                    self.country(
                        &Some(c.clone()),
                        &format!("transport.routing_countries[{}]", n + 1),
                    )
                })
                .collect(),
            entry_office: self.text(&t.entry_office, "transport.entry_office", 17),
            exit_office: self.text(&t.exit_office, "transport.exit_office", 17),
            supervising_office: self.text(
                &t.supervising_office,
                "transport.supervising_office",
                17,
            ),
            presentation_office: self.text(
                &t.presentation_office,
                "transport.presentation_office",
                17,
            ),
            departure_date: self.date(&t.departure_date, "transport.departure_date"),
            arrival_date: self.date(&t.arrival_date, "transport.arrival_date"),
        }
    }

    fn check_transport_document<'p>(&mut self, doc: &DocumentDraft, path: impl Into<Loc<'p>>) {
        let path: Loc<'_> = path.into();
        if doc.id.trim().is_empty() {
            self.error(
                "DECL_DOCUMENT_ID_MISSING",
                path,
                None,
                "a document needs its reference",
            );
            return;
        }
        match doc.type_code.as_deref().map(str::trim) {
            // 740 air waybill, 741 master air waybill: IATA mod-7 check digit.
            Some("740") | Some("741") => {
                if let Err(err) = AirWaybill::parse(&doc.id) {
                    let severity = self.severity(true);
                    self.id_finding(severity, &err, Loc::at(path.base, "id"), &doc.id);
                }
            }
            // US AMS bills of lading: SCAC (4 letters) + up to 12 characters.
            Some("705") | Some("704") | Some("714") if self.ctx.node_country == "US" => {
                let id = doc.id.trim();
                let scac_ok = id.len() > 4
                    && id.len() <= 16
                    && id[..4].bytes().all(|b| b.is_ascii_uppercase())
                    && id[4..].bytes().all(|b| b.is_ascii_alphanumeric());
                if !scac_ok {
                    self.warn(
                        "DECL_BL_AMS_FORMAT",
                        Loc::at(path.base, "id"),
                        Some(id),
                        "US AMS bill of lading is a 4-letter SCAC followed by up to 12 characters",
                    );
                }
            }
            _ => {}
        }
    }

    fn items(&mut self, d: &DeclarationDraft) -> Vec<GoodsItem> {
        let mut items = Vec::with_capacity(d.items.len());
        for (n, item) in d.items.iter().enumerate() {
            let expected = n as u32 + 1;
            let path = format!("items[{expected}]");
            match item.sequence.trim().parse::<u32>() {
                Ok(seq) if seq == expected => {}
                _ => self.error(
                    "DECL_ITEM_SEQUENCE",
                    Loc::at(&path, "sequence"),
                    Some(&item.sequence),
                    format!("goods items must be numbered 1..n without gaps or repeats; expected {expected}"),
                ),
            }
            let commodity_code = self.commodity(
                item.commodity_code.as_deref(),
                Loc::at(&path, "commodity_code"),
            );
            let description = item
                .description
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty());
            match description {
                None if commodity_code.is_some() => self.error(
                    "DECL_DESCRIPTION_MISSING",
                    Loc::at(&path, "description"),
                    None,
                    "a goods item needs a description",
                ),
                Some(text) if GENERIC_DESCRIPTIONS.contains(&text.to_lowercase().as_str()) => self
                    .warn(
                        "DECL_DESCRIPTION_GENERIC",
                        Loc::at(&path, "description"),
                        Some(text),
                        "a generic word does not describe the goods",
                    ),
                Some(text) if text.chars().count() > 512 => self.error(
                    "DECL_TEXT_TOO_LONG",
                    Loc::at(&path, "description"),
                    Some(text),
                    "at most 512 characters",
                ),
                _ => {}
            }
            let gross_mass = self.mass(&item.gross_mass, Loc::at(&path, "gross_mass"), true);
            let net_mass = self.mass(&item.net_mass, Loc::at(&path, "net_mass"), false);
            if let (Some(gross), Some(net)) = (gross_mass, net_mass)
                && net > gross
            {
                self.warn(
                    "DECL_NET_ABOVE_GROSS",
                    Loc::at(&path, "net_mass"),
                    item.net_mass.as_deref(),
                    "net mass is above gross mass",
                );
            }
            let quantity = self.decimal(&item.quantity, Loc::at(&path, "quantity"), 16, 6);
            if quantity.is_some_and(Decimal::is_negative) {
                self.error(
                    "DECL_QUANTITY_NEGATIVE",
                    Loc::at(&path, "quantity"),
                    item.quantity.as_deref(),
                    "quantity must not be negative",
                );
            }
            let quantity_unit = self.text(&item.quantity_unit, Loc::at(&path, "quantity_unit"), 3);
            if let Some(unit) = &quantity_unit
                && !(2..=3).contains(&unit.len())
            {
                self.warn(
                    "DECL_UNIT_REC20",
                    Loc::at(&path, "quantity_unit"),
                    Some(unit),
                    "not shaped like a UN/ECE Rec 20 unit code",
                );
            }
            let package_kind = self.text(&item.package_kind, Loc::at(&path, "package_kind"), 2);
            let un_dangerous_goods = self.text(
                &item.un_dangerous_goods,
                Loc::at(&path, "un_dangerous_goods"),
                4,
            );
            if let Some(un) = &un_dangerous_goods
                && !(un.len() == 4 && un.bytes().all(|b| b.is_ascii_digit()))
            {
                self.warn(
                    "DECL_UN_NUMBER",
                    Loc::at(&path, "un_dangerous_goods"),
                    Some(un),
                    "UN dangerous goods number is 4 digits",
                );
            }
            let procedure = self.text(&item.procedure, Loc::at(&path, "procedure"), 7);
            if let Some(code) = &procedure
                && self.ctx.is_local()
                && !self.ctx.procedures.is_empty()
                && !self.ctx.procedures.iter().any(|p| p == code)
            {
                self.error(
                    "DECL_PROCEDURE_UNKNOWN",
                    Loc::at(&path, "procedure"),
                    Some(code),
                    "not in this node's procedure list",
                );
            }
            let duties = item
                .duties
                .iter()
                .enumerate()
                .map(|(k, duty)| {
                    let dpath = format!("{path}.duties[{}]", k + 1);
                    Duty {
                        tax_type: duty.tax_type.trim().to_owned(),
                        base: self.decimal(&duty.base, Loc::at(&dpath, "base"), 16, 3),
                        rate: self.text(&duty.rate, Loc::at(&dpath, "rate"), 3),
                        assessed: self.amount(&duty.assessed, Loc::at(&dpath, "assessed")),
                        currency: self.currency(&duty.currency, Loc::at(&dpath, "currency")),
                        payment_method: self.text(
                            &duty.payment_method,
                            Loc::at(&dpath, "payment_method"),
                            1,
                        ),
                    }
                })
                .collect();
            items.push(GoodsItem {
                sequence: expected,
                commodity_code,
                classification_type: self.text(
                    &item.classification_type,
                    Loc::at(&path, "classification_type"),
                    4,
                ),
                description: description.map(str::to_owned),
                origin_country: self.origin(&item.origin_country, Loc::at(&path, "origin_country")),
                origin_type: self.text(&item.origin_type, Loc::at(&path, "origin_type"), 1),
                gross_mass,
                net_mass,
                quantity,
                quantity_unit,
                packages_count: self
                    .count::<u64>(&item.packages_count, Loc::at(&path, "packages_count")),
                package_kind,
                package_marks: self.text(&item.package_marks, Loc::at(&path, "package_marks"), 512),
                item_price: self.amount(&item.item_price, Loc::at(&path, "item_price")),
                customs_value: self.amount(&item.customs_value, Loc::at(&path, "customs_value")),
                statistical_value: self
                    .amount(&item.statistical_value, Loc::at(&path, "statistical_value")),
                value_currency: self
                    .currency(&item.value_currency, Loc::at(&path, "value_currency")),
                procedure,
                previous_procedure: self.text(
                    &item.previous_procedure,
                    Loc::at(&path, "previous_procedure"),
                    7,
                ),
                additional_procedures: item.additional_procedures.clone(),
                duties,
                previous_documents: item.previous_documents.clone(),
                additional_documents: item.additional_documents.clone(),
                un_dangerous_goods,
                nature_of_transaction: self.text(
                    &item.nature_of_transaction,
                    Loc::at(&path, "nature_of_transaction"),
                    2,
                ),
            });
        }
        items
    }

    fn commodity<'p>(
        &mut self,
        raw: Option<&str>,
        path: impl Into<Loc<'p>>,
    ) -> Option<Declared<HsCode>> {
        let path: Loc<'_> = path.into();
        let raw = raw.map(str::trim).filter(|s| !s.is_empty())?;
        let declared = self.declared(raw, path, self.severity(true), HsCode::parse);
        if let Declared::Valid(code) = &declared {
            let digits = code.as_str().len();
            if self.ctx.is_local() && digits != 10 {
                self.error("DECL_HS_NATIONAL_LENGTH", path, Some(raw), format!("a commodity code filed with this administration has 10 digits, not {digits}"));
            }
        }
        Some(declared)
    }

    fn outcome(&mut self, d: &DeclarationDraft) -> Option<Outcome> {
        let o = d.outcome.as_ref()?;
        let lane = Lane::parse(&o.lane);
        if lane.is_none() {
            self.error(
                "DECL_OUTCOME_LANE",
                "outcome.lane",
                Some(&o.lane),
                "lane must be green, yellow or red",
            );
        }
        let inspection_result = match non_blank(&o.inspection_result) {
            None => None,
            Some(raw) => {
                let parsed = InspectionResult::parse(raw);
                if parsed.is_none() {
                    self.error(
                        "DECL_OUTCOME_INSPECTION",
                        "outcome.inspection_result",
                        Some(raw),
                        "must be not_inspected, no_discrepancy or discrepancy",
                    );
                }
                parsed
            }
        };
        let seized = match non_blank(&o.seized) {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                self.error(
                    "DECL_OUTCOME_SEIZED",
                    "outcome.seized",
                    Some(other),
                    "must be true or false",
                );
                None
            }
        };
        Some(Outcome {
            lane: lane?,
            inspection_result,
            seized,
            duty_assessed: self.amount(&o.duty_assessed, "outcome.duty_assessed"),
            duty_recovered: self.amount(&o.duty_recovered, "outcome.duty_recovered"),
            currency: self.currency(&o.currency, "outcome.currency"),
        })
    }

    /// Rules that look at more than one field.
    fn cross_checks(&mut self, d: &Declaration) {
        let h = &d.header;
        if let Some(count) = h.goods_item_count
            && count as usize != d.items.len()
        {
            self.error(
                "DECL_ITEM_COUNT",
                "header.goods_item_count",
                Some(&count.to_string()),
                format!(
                    "declares {count} goods items but {} are present",
                    d.items.len()
                ),
            );
        }
        if let Some(total) = h.total_packages {
            let sum: u64 = d.items.iter().filter_map(|i| i.packages_count).sum();
            if d.items.iter().any(|i| i.packages_count.is_some()) && sum != total {
                self.warn(
                    "DECL_TOTAL_PACKAGES",
                    "header.total_packages",
                    Some(&total.to_string()),
                    format!("items declare {sum} packages in all"),
                );
            }
        }
        if let Some(total) = h.total_gross_mass {
            let sum = d
                .items
                .iter()
                .filter_map(|i| i.gross_mass)
                .fold(Decimal::ZERO, Decimal::saturating_add);
            // Below the item sum by more than 1 %.
            if total.micros() * 100 < sum.micros() * 99 {
                self.warn(
                    "DECL_TOTAL_GROSS_MASS",
                    "header.total_gross_mass",
                    Some(&total.to_string()),
                    format!("below the sum of item gross masses ({sum} kg) by more than 1 %"),
                );
            }
        }
        let has_goods = d.items.iter().any(|i| i.commodity_code.is_some());
        if h.direction == Direction::Import && has_goods && d.party(PartyRole::Importer).is_none() {
            self.error(
                "DECL_IMPORTER_MISSING",
                "parties[IM]",
                None,
                "an import that declares goods needs an importer",
            );
        }
        if h.direction != Direction::Amendment && d.party(PartyRole::Declarant).is_none() {
            self.error(
                "DECL_DECLARANT_MISSING",
                "parties[DT]",
                None,
                "the declarant is required",
            );
        }
        let representation = d
            .parties
            .iter()
            .filter_map(|p| p.function_code.as_deref())
            .any(|f| f == "2" || f == "3");
        if representation && d.party(PartyRole::Representative).is_none() {
            self.error(
                "DECL_REPRESENTATIVE_MISSING",
                "parties[AE]",
                None,
                "function 2 or 3 (direct or indirect representation) needs a representative",
            );
        }
    }
}
