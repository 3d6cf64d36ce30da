//! A declaration as mirror matching sees it: one *leg* of a shipment, with the keys,
//! parties, dates and goods that linkage and discrepancies compare.
//!
//! Extraction happens once per declaration so that the linkage loops never walk the
//! full [`Declaration`] again: transport references are normalised here (spec
//! `declarations.md` 3.1–3.2: upper case, no spaces, dashes or dots), names are kept raw
//! (the [`crate::similarity::NameSimilarity`] seam normalises them), and amounts become
//! `f64` because everything downstream is statistics, not accounting.

use caravan_domain::declaration::model::{Declaration, Declared, Direction, GoodsItem, PartyRole};
use caravan_domain::id::CountryCode;
use chrono::NaiveDate;

/// Export or import leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flow {
    /// Goods leaving the reporting country (FOB side).
    Export,
    /// Goods entering the reporting country (CIF side).
    Import,
}

impl Flow {
    /// `export` or `import`.
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Export => "export",
            Flow::Import => "import",
        }
    }
}

/// Mode of transport at the border, from the UN/ECE Rec 19 digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// 1.
    Sea,
    /// 2.
    Rail,
    /// 3.
    Road,
    /// 4.
    Air,
    /// Anything else or undeclared: treated like sea (the widest window).
    Other,
}

impl Mode {
    /// From the Rec 19 code.
    pub fn from_rec19(code: Option<u8>) -> Mode {
        match code {
            Some(1) => Mode::Sea,
            Some(2) => Mode::Rail,
            Some(3) => Mode::Road,
            Some(4) => Mode::Air,
            _ => Mode::Other,
        }
    }

    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sea => "sea",
            Mode::Rail => "rail",
            Mode::Road => "road",
            Mode::Air => "air",
            Mode::Other => "other",
        }
    }
}

/// Who filed the declaration: the key of a leg across the API, the CLI and exports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegRef {
    /// ISO 3166-1 alpha-2 of the administration holding the declaration.
    pub reporter: String,
    /// Declarant identifier (may be empty).
    pub declarant: String,
    /// D026 LRN.
    pub lrn: String,
}

impl std::fmt::Display for LegRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.reporter, self.lrn)
    }
}

/// One goods line.
#[derive(Debug, Clone, PartialEq)]
pub struct LegItem {
    /// 1-based item number.
    pub sequence: u32,
    /// First six digits of the commodity code, when one was declared with six digits.
    pub hs6: Option<String>,
    /// Origin country as declared.
    pub origin: Option<String>,
    /// Net mass, kg.
    pub net_mass: Option<f64>,
    /// Gross mass, kg.
    pub gross_mass: Option<f64>,
    /// Supplementary quantity and its Rec 20 unit.
    pub quantity: Option<(f64, String)>,
    /// Packages.
    pub packages: Option<u64>,
    /// Transaction value: item price (112), else customs value (108), else statistical
    /// value (114).
    pub value: Option<f64>,
    /// Customs value (108), the CIF basis on the import side when freight is not declared.
    pub customs_value: Option<f64>,
    /// Currency of the amounts.
    pub currency: Option<String>,
    /// The customs-duty line (US `A00`, Uzbek `CD`), from which the effective rate of
    /// the declared code is derived once currencies are converted.
    pub duty: Option<DutyLine>,
}

/// Base and assessed amount of a customs-duty line. The base is in the item's currency;
/// the assessed amount may be in the node's duty currency (UZS against a USD base).
#[derive(Debug, Clone, PartialEq)]
pub struct DutyLine {
    /// 116.
    pub base: f64,
    /// 120.
    pub assessed: f64,
    /// Currency of the assessed amount.
    pub currency: Option<String>,
}

/// One declaration, reduced to what mirror matching compares.
#[derive(Debug, Clone, PartialEq)]
pub struct Leg {
    /// Key of the declaration.
    pub reference: LegRef,
    /// D014, when customs numbered it.
    pub mrn: Option<String>,
    /// Export or import.
    pub flow: Flow,
    /// The other country: destination of an export, dispatch country of an import.
    pub partner: Option<String>,
    /// Export: departure (else acceptance, else issue) date. Import: arrival (else
    /// acceptance, else issue) date.
    pub date: Option<NaiveDate>,
    /// Acceptance date (023), the date of currency conversion.
    pub accepted: Option<NaiveDate>,
    /// Border mode.
    pub mode: Mode,
    /// 016 UCR, normalised.
    pub ucr: Option<String>,
    /// Transport documents (D018/D019): normalised ids with their airline prefix rule.
    pub transport_docs: Vec<String>,
    /// Container and wagon numbers, normalised.
    pub containers: Vec<String>,
    /// Invoice number (document type 380), normalised.
    pub invoice: Option<String>,
    /// Previous documents quoted on the goods items (e.g. the export declaration number).
    pub previous_docs: Vec<String>,
    /// Exporter side: exporter, else consignor, else seller.
    pub exporter_name: Option<String>,
    /// Importer side: importer, else consignee, else buyer.
    pub importer_name: Option<String>,
    /// Consignee name, for end-user changes.
    pub consignee_name: Option<String>,
    /// 064 routing countries.
    pub routing: Vec<String>,
    /// 062 dispatch country.
    pub dispatch: Option<String>,
    /// 465 destination country.
    pub destination: Option<String>,
    /// 117 freight charge and its currency.
    pub freight: Option<(f64, Option<String>)>,
    /// Goods.
    pub items: Vec<LegItem>,
}

/// Uppercase alphanumerics only: the comparison form of a transport or commercial
/// reference (`declarations.md` 3.1–3.2).
pub fn normalise_reference(raw: &str) -> String {
    raw.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn dec(d: Option<caravan_domain::declaration::decimal::Decimal>) -> Option<f64> {
    d.map(|d| d.to_f64())
}

fn item(item: &GoodsItem) -> LegItem {
    let hs6 = item
        .commodity_code
        .as_ref()
        .map(|c| c.display())
        .filter(|c| c.len() >= 6 && c.bytes().take(6).all(|b| b.is_ascii_digit()))
        .map(|c| c[..6].to_owned());
    let duty = item
        .duties
        .iter()
        .find(|d| matches!(d.tax_type.as_str(), "A00" | "CD" | "A10" | "B00"))
        .and_then(|d| {
            Some(DutyLine {
                base: dec(d.base)?,
                assessed: dec(d.assessed)?,
                currency: d.currency.as_ref().map(|c| c.display()),
            })
        });
    LegItem {
        sequence: item.sequence,
        hs6,
        origin: item.origin_country.as_ref().map(|c| c.display()),
        net_mass: dec(item.net_mass),
        gross_mass: dec(item.gross_mass),
        quantity: item
            .quantity
            .map(|q| (q.to_f64(), item.quantity_unit.clone().unwrap_or_default())),
        packages: item.packages_count,
        value: dec(item.item_price)
            .or(dec(item.customs_value))
            .or(dec(item.statistical_value)),
        customs_value: dec(item.customs_value),
        currency: item.value_currency.as_ref().map(|c| c.display()),
        duty,
    }
}

fn party_name(d: &Declaration, roles: &[PartyRole]) -> Option<String> {
    roles
        .iter()
        .find_map(|r| d.party(*r).and_then(|p| p.name.clone()))
}

impl Leg {
    /// The leg of `declaration` as filed with the administration of `reporter`
    /// (`US`, `UZ`); `None` for amendments, which are not shipments.
    pub fn from_declaration(reporter: &str, declaration: &Declaration) -> Option<Leg> {
        let h = &declaration.header;
        let t = &declaration.transport;
        let flow = match h.direction {
            Direction::Export => Flow::Export,
            Direction::Import => Flow::Import,
            Direction::Amendment => return None,
        };
        let country = |c: &Option<Declared<CountryCode>>| c.as_ref().map(Declared::display);
        let dispatch = country(&t.dispatch_country);
        let destination = country(&t.destination_country);
        let accepted = h.accepted_at.map(|d| d.date_naive());
        let issued = h.issued_at.map(|d| d.date_naive());
        let date = match flow {
            Flow::Export => t.departure_date.or(accepted).or(issued),
            Flow::Import => t.arrival_date.or(accepted).or(issued),
        };
        let mut transport_docs = Vec::new();
        let mut invoice = None;
        for doc in &t.documents {
            let id = normalise_reference(&doc.id);
            if id.is_empty() {
                continue;
            }
            if doc.type_code.as_deref() == Some("380") {
                invoice = Some(id);
            } else {
                transport_docs.push(id);
            }
        }
        let mut previous_docs = Vec::new();
        for it in &declaration.items {
            for doc in it.previous_documents.iter().chain(&it.additional_documents) {
                let id = normalise_reference(&doc.id);
                if doc.type_code.as_deref() == Some("380") {
                    invoice.get_or_insert(id);
                } else if !id.is_empty() {
                    previous_docs.push(id);
                }
            }
        }
        previous_docs.sort();
        previous_docs.dedup();
        transport_docs.sort();
        transport_docs.dedup();
        let mut containers: Vec<String> = t
            .equipment
            .iter()
            .map(|e| normalise_reference(&e.container.display()))
            .filter(|c| !c.is_empty())
            .collect();
        containers.sort();
        containers.dedup();
        Some(Leg {
            reference: LegRef {
                reporter: reporter.to_owned(),
                declarant: declaration.declarant_key(),
                lrn: h.lrn.clone(),
            },
            mrn: h.mrn.as_deref().map(normalise_reference),
            flow,
            partner: match flow {
                Flow::Export => destination.clone(),
                Flow::Import => dispatch.clone(),
            },
            date,
            accepted: accepted.or(issued),
            mode: Mode::from_rec19(t.border_mode),
            ucr: h
                .ucr
                .as_deref()
                .map(normalise_reference)
                .filter(|u| !u.is_empty()),
            transport_docs,
            containers,
            invoice,
            previous_docs,
            exporter_name: party_name(
                declaration,
                &[PartyRole::Exporter, PartyRole::Consignor, PartyRole::Seller],
            ),
            importer_name: party_name(
                declaration,
                &[PartyRole::Importer, PartyRole::Consignee, PartyRole::Buyer],
            ),
            consignee_name: party_name(declaration, &[PartyRole::Consignee]),
            routing: t.routing_countries.iter().map(|c| c.display()).collect(),
            dispatch,
            destination,
            freight: dec(h.freight_charge)
                .map(|f| (f, h.freight_currency.as_ref().map(|c| c.display()))),
            items: declaration.items.iter().map(item).collect(),
        })
    }

    /// Sum of item net masses, when every item declares one.
    pub fn net_mass(&self) -> Option<f64> {
        self.items.iter().map(|i| i.net_mass).sum()
    }

    /// Sum of item gross masses, when every item declares one.
    pub fn gross_mass(&self) -> Option<f64> {
        self.items.iter().map(|i| i.gross_mass).sum()
    }

    /// Sum of packages, when every item declares them.
    pub fn packages(&self) -> Option<u64> {
        self.items.iter().map(|i| i.packages).sum()
    }

    /// Distinct HS6 codes of the items.
    pub fn hs6_codes(&self) -> Vec<&str> {
        let mut codes: Vec<&str> = self.items.iter().filter_map(|i| i.hs6.as_deref()).collect();
        codes.sort_unstable();
        codes.dedup();
        codes
    }

    /// HS6 of the first item, the leg's headline code.
    pub fn main_hs6(&self) -> Option<&str> {
        self.items.iter().find_map(|i| i.hs6.as_deref())
    }
}

/// Validates `drafts` as partner data of `country` and reduces each to a leg; returns
/// the legs and the LRNs of drafts that failed validation (they are reported, not
/// guessed at).
pub fn legs_from_drafts(
    country: &str,
    drafts: &[caravan_domain::declaration::draft::DeclarationDraft],
) -> (Vec<Leg>, Vec<String>) {
    let ctx = caravan_domain::declaration::validate::ValidationContext::partner(country);
    let mut legs = Vec::with_capacity(drafts.len());
    let mut rejected = Vec::new();
    for draft in drafts {
        match caravan_domain::declaration::validate::validate(draft, &ctx) {
            Ok(v) => legs.extend(Leg::from_declaration(country, &v.declaration)),
            Err(_) => rejected.push(draft.header.lrn.clone()),
        }
    }
    (legs, rejected)
}
