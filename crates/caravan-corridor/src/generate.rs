//! Shipment by shipment: draw the goods, the route and the parties once, then render the
//! export leg and the import leg from that one truth, applying noise, anomalies and
//! defects only where the truth row says so.

use caravan_domain::declaration::draft::{
    AddressDraft, DeclarationDraft, DocumentDraft, DutyDraft, EquipmentDraft, GoodsItemDraft,
    HeaderDraft, OutcomeDraft, PartyDraft, TransportDraft,
};
use chrono::{Duration, NaiveDate};

use crate::catalog::{
    AIRLINES, INLAND_CARRIERS, OCEAN_CARRIERS, Office, Product, ROUTES, US_CITIES, US_NAME_A,
    US_NAME_B, US_OFFICES, US_STREETS, US_SUFFIX, US_TO_UZ, UZ_CITIES, UZ_NAMES, UZ_OFFICES,
    UZ_QUALIFIERS, UZ_STREETS, UZ_TO_US,
};
use crate::ids;
use crate::rng::Rng;
use crate::truth::{AnomalyKind, DefectKind, Direction, TruthRow};
use crate::{CorridorConfig, SPLIT_THRESHOLD_USD, Shipment, UZS_PER_USD};

/// The sanctions sample, compiled in (see `data/README.md`).
const SDN_SAMPLE: &str = include_str!("../data/sdn_sample.csv");

/// Iterator over the shipments of a corridor; see [`shipments`].
#[derive(Debug, Clone)]
pub struct Shipments {
    world: World,
    next: usize,
}

/// The corridor one shipment at a time, in index order.
pub fn shipments(config: &CorridorConfig) -> Shipments {
    Shipments {
        world: World::new(config),
        next: 0,
    }
}

impl Iterator for Shipments {
    type Item = Shipment;

    fn next(&mut self) -> Option<Shipment> {
        if self.next >= self.world.config.shipments {
            return None;
        }
        let s = self.world.shipment(self.next);
        self.next += 1;
        Some(s)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.world.config.shipments - self.next;
        (left, Some(left))
    }
}

/// A trading firm, broker or foreign counterparty, used identically on every leg.
#[derive(Debug, Clone)]
struct Firm {
    name: String,
    scheme: &'static str,
    id: Option<String>,
    /// US importer-of-record number (EIN + 2-character suffix), US firms only.
    ior: Option<String>,
    lei: Option<String>,
    address: AddressDraft,
}

impl Firm {
    fn party(&self, role: &str) -> PartyDraft {
        PartyDraft {
            role: role.to_owned(),
            id_scheme: self.id.as_ref().map(|_| self.scheme.to_owned()),
            id: self.id.clone(),
            name: Some(self.name.clone()),
            address: self.address.clone(),
            function_code: None,
        }
    }

    /// Commercial roles (seller, buyer) show the LEI when the firm has one.
    fn commercial(&self, role: &str) -> PartyDraft {
        match &self.lei {
            Some(lei) => PartyDraft {
                id_scheme: Some("LEI".to_owned()),
                id: Some(lei.clone()),
                ..self.party(role)
            },
            None => self.party(role),
        }
    }

    fn importer_of_record(&self) -> PartyDraft {
        match &self.ior {
            Some(ior) => PartyDraft {
                id_scheme: Some("US_IOR".to_owned()),
                id: Some(ior.clone()),
                ..self.party("IM")
            },
            None => self.party("IM"),
        }
    }
}

#[derive(Debug, Clone)]
struct World {
    config: CorridorConfig,
    us_traders: Vec<Firm>,
    us_brokers: Vec<Firm>,
    uz_traders: Vec<Firm>,
    uz_brokers: Vec<Firm>,
    watchlist: Vec<(String, Firm)>,
    third_country_buyers: Vec<Firm>,
}

fn us_firm(rng: &mut Rng, name: String) -> Firm {
    let ein = ids::ein(rng);
    let (city, zip, state) = *rng.pick(US_CITIES);
    let lei = rng.chance(0.15).then(|| ids::lei(rng, "5493"));
    Firm {
        name,
        scheme: "US_EIN",
        ior: Some(format!("{ein}{}", rng.pick(&["00", "01", "02"]))),
        id: Some(ein),
        lei,
        address: AddressDraft {
            line: Some(format!("{} {}", rng.int(1, 9999), rng.pick(US_STREETS))),
            city: Some(city.to_owned()),
            postcode: Some(zip.to_owned()),
            country: Some("US".to_owned()),
            subdivision: Some(format!("US-{state}")),
        },
    }
}

fn uz_firm(rng: &mut Rng, name: String) -> Firm {
    let (city, postcode, subdivision) = *rng.pick(UZ_CITIES);
    let lei = rng.chance(0.10).then(|| ids::lei(rng, "2594"));
    Firm {
        name,
        scheme: "UZ_STIR",
        id: Some(ids::stir(rng)),
        ior: None,
        lei,
        address: AddressDraft {
            line: Some(format!("{}, {}-uy", rng.pick(UZ_STREETS), rng.int(1, 120))),
            city: Some(city.to_owned()),
            postcode: Some(postcode.to_owned()),
            country: Some("UZ".to_owned()),
            subdivision: Some(subdivision.to_owned()),
        },
    }
}

/// The compiled sanctions sample (`ent_num,name,sdn_type,program,country`), so the demo can
/// screen against exactly the list the corridor plants from.
pub fn sanctions_sample_csv() -> &'static str {
    SDN_SAMPLE
}

/// How a listed name appears on a declaration: not as OFAC writes it, but as traders do
/// (spec screening §4) — the legal form abbreviated or translated, `KH` written `H` or
/// `X`, `Y` as `I`, or the whole name in Cyrillic. Chosen by the entry number, so the
/// generator's random stream is untouched.
fn planted_spelling(ent: &str, name: &str) -> String {
    const FORMS: &[(&str, [&str; 4])] = &[
        (
            "PUBLICHNOE AKTSIONERNOE OBSHCHESTVO ",
            ["PAO ", "PJSC ", "ПАО ", "PAO "],
        ),
        ("AKTSIONERNOE OBSHCHESTVO ", ["AO ", "JSC ", "АО ", "AO "]),
        (
            "OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU ",
            ["OOO ", "LLC ", "ООО ", "OOO "],
        ),
    ];
    let pick = ent.bytes().fold(0usize, |a, b| {
        a.wrapping_mul(31).wrapping_add(usize::from(b))
    }) % 4;
    let mut form = "";
    let mut core = name;
    for (long, short) in FORMS {
        if let Some(rest) = name.strip_prefix(long) {
            form = short[pick];
            core = rest;
            break;
        }
    }
    let core = match pick {
        1 => core.replace("KH", "H"),
        2 => core.replace("KH", "X").replace('Y', "I"),
        3 if !form.is_empty() => to_cyrillic(core),
        _ => core.to_owned(),
    };
    if form.is_empty() {
        core
    } else if pick == 1 {
        format!("{core} {}", form.trim_end())
    } else {
        format!("{form}«{core}»")
    }
}

/// A Russian reading of a BGN-romanised upper-case name (digraphs first).
fn to_cyrillic(latin: &str) -> String {
    const DIGRAPHS: &[(&str, &str)] = &[
        ("SHCH", "Щ"),
        ("KH", "Х"),
        ("ZH", "Ж"),
        ("TS", "Ц"),
        ("CH", "Ч"),
        ("SH", "Ш"),
        ("YU", "Ю"),
        ("YA", "Я"),
        ("YE", "Е"),
        ("YO", "Ё"),
    ];
    const LETTERS: &[(char, &str)] = &[
        ('A', "А"),
        ('B', "Б"),
        ('V', "В"),
        ('G', "Г"),
        ('D', "Д"),
        ('E', "Е"),
        ('Z', "З"),
        ('I', "И"),
        ('Y', "Й"),
        ('K', "К"),
        ('L', "Л"),
        ('M', "М"),
        ('N', "Н"),
        ('O', "О"),
        ('P', "П"),
        ('R', "Р"),
        ('S', "С"),
        ('T', "Т"),
        ('U', "У"),
        ('F', "Ф"),
        ('C', "К"),
        ('X', "КС"),
        ('W', "В"),
        ('H', "Х"),
        ('J', "ДЖ"),
        ('Q', "К"),
    ];
    let mut out = String::with_capacity(latin.len() * 2);
    let mut rest = latin;
    'outer: while let Some(c) = rest.chars().next() {
        for (from, to) in DIGRAPHS {
            if let Some(after) = rest.strip_prefix(from) {
                out.push_str(to);
                rest = after;
                continue 'outer;
            }
        }
        match LETTERS.iter().find(|(l, _)| *l == c) {
            Some((_, cyrillic)) => out.push_str(cyrillic),
            None => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn foreign_firm(name: String, city: &str, country: &str) -> Firm {
    Firm {
        name,
        scheme: "OTHER",
        id: None,
        ior: None,
        lei: None,
        address: AddressDraft {
            line: None,
            city: Some(city.to_owned()),
            postcode: None,
            country: Some(country.to_owned()),
            subdivision: None,
        },
    }
}

/// Capital (or main trading city) for the address of a watch-list or third-country party.
fn city_of(country: &str) -> &'static str {
    match country {
        "RU" => "Moscow",
        "IR" => "Tehran",
        "CN" => "Beijing",
        "AE" => "Dubai",
        "KZ" => "Almaty",
        "KG" => "Bishkek",
        "BY" => "Minsk",
        "UZ" => "Tashkent",
        _ => "Unknown",
    }
}

/// Splits one CSV line of the compiled sample (quoted fields, no embedded newlines).
fn csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

impl World {
    fn new(config: &CorridorConfig) -> World {
        let mut rng = Rng::new(config.seed, u64::MAX);
        let n = (config.shipments / 25).clamp(40, 2_000);
        let us_traders = (0..n)
            .map(|i| {
                let name = format!(
                    "{} {} {}",
                    US_NAME_A[i % US_NAME_A.len()],
                    US_NAME_B[(i / US_NAME_A.len() + i) % US_NAME_B.len()],
                    rng.pick(US_SUFFIX)
                );
                let name = if i >= US_NAME_A.len() * US_NAME_B.len() {
                    format!("{name} {}", i)
                } else {
                    name
                };
                us_firm(&mut rng, name)
            })
            .collect();
        let brokers = [
            "Expeditors",
            "C.H. Robinson",
            "Flexport",
            "Livingston",
            "Kuehne+Nagel",
            "DHL Global Forwarding",
        ];
        let us_brokers = brokers
            .iter()
            .map(|b| us_firm(&mut rng, format!("{b} Customs Brokerage")))
            .collect();
        let uz_traders = (0..n)
            .map(|i| {
                let (lat, cyr) = UZ_NAMES[i % UZ_NAMES.len()];
                let (ql, qc) = UZ_QUALIFIERS[(i / UZ_NAMES.len()) % UZ_QUALIFIERS.len()];
                let round = i / (UZ_NAMES.len() * UZ_QUALIFIERS.len());
                let tag = if round > 0 {
                    format!(" {}", round + 1)
                } else {
                    String::new()
                };
                let both = format!("«{lat}{ql}{tag}» MChJ / ООО «{cyr}{qc}{tag}»");
                // A party name is an..70 (WCO R031 and siblings): firms whose two-script
                // name is longer register it in one script, alternating Latin and Cyrillic.
                let name = if both.chars().count() <= 70 {
                    both
                } else if i % 2 == 0 {
                    format!("«{lat}{ql}{tag}» MChJ")
                } else {
                    format!("ООО «{cyr}{qc}{tag}»")
                };
                uz_firm(&mut rng, name)
            })
            .collect();
        let uz_brokers = [
            "Broker Servis",
            "Tamojnya Xizmat",
            "Silk Road Broker",
            "Global Bojxona",
        ]
        .iter()
        .map(|b| uz_firm(&mut rng, format!("«{b}» MChJ")))
        .collect();
        let watchlist = SDN_SAMPLE
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| {
                let f = csv_line(l);
                let (ent, name, country) = (f.first()?, f.get(1)?, f.get(4)?);
                let firm = foreign_firm(planted_spelling(ent, name), city_of(country), country);
                Some((format!("{ent}:{name}"), firm))
            })
            .collect();
        let third_country_buyers = [
            ("OOO Tekhnoimpeks", "RU"),
            ("OOO Promkomplekt", "RU"),
            ("OAO Belpromsnab", "BY"),
            ("TOO Altyn Trade", "KZ"),
            ("OsOO Ala-Too Distribution", "KG"),
        ]
        .iter()
        .map(|(n, c)| foreign_firm((*n).to_owned(), city_of(c), c))
        .collect();
        World {
            config: config.clone(),
            us_traders,
            us_brokers,
            uz_traders,
            uz_brokers,
            watchlist,
            third_country_buyers,
        }
    }
}

/// One goods line as shipped.
#[derive(Debug, Clone)]
struct Line {
    product: Product,
    hs6: String,
    value: f64,
    net: f64,
    gross: f64,
    packages: u64,
    origin: String,
    description: Option<String>,
}

/// Opaque national digits 7–10, stable per code and per tariff (spec 1: HTSUS and TN VED
/// digits are not validated).
fn national(hs6: &str, salt: u32) -> String {
    let h = hs6.bytes().fold(2_166_136_261u32 ^ salt, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    });
    format!("{hs6}{:02}{:02}", h % 10 * 10, (h / 10) % 5 * 10)
}

fn money(v: f64) -> String {
    format!("{v:.2}")
}

fn kg(v: f64) -> String {
    format!("{v:.3}")
}

fn datetime(date: NaiveDate, minutes: u64, offset: &str) -> String {
    format!(
        "{}T{:02}:{:02}:00{offset}",
        date.format("%Y-%m-%d"),
        minutes / 60 % 24,
        minutes % 60
    )
}

/// Transport of one shipment, shared by its legs.
#[derive(Debug, Clone)]
struct Transport {
    air: bool,
    us_office: Office,
    uz_office: Office,
    route_countries: Vec<String>,
    port: &'static str,
    uz_mode: &'static str,
    waybill: String,
    airline: (&'static str, &'static str, &'static str),
    flight: String,
    ocean: (&'static str, &'static str, &'static str),
    vessel_imo: String,
    inland: (&'static str, &'static str, bool),
    inland_doc: String,
    containers: Vec<(String, String)>,
}

/// Which leg of a shipment a draft is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leg {
    Export,
    Import,
}

impl World {
    fn shipment(&self, index: usize) -> Shipment {
        let c = &self.config;
        let mut rng = Rng::new(c.seed, index as u64);
        let anomaly = rng
            .chance(c.anomaly_rate)
            .then(|| AnomalyKind::ALL[rng.weighted(&c.anomaly_weights)]);
        let direction = match anomaly {
            Some(AnomalyKind::FalseOrigin) => Direction::UzToUs,
            Some(AnomalyKind::ChplReexport) => Direction::UsToUz,
            _ if rng.chance(c.us_to_uz_share) => Direction::UsToUz,
            _ => Direction::UzToUs,
        };
        let catalog = match direction {
            Direction::UsToUz => US_TO_UZ,
            Direction::UzToUs => UZ_TO_US,
        };
        let weights: Vec<f64> = catalog.iter().map(|p| p.weight).collect();

        // Goods: a primary product fitting the anomaly, more lines from the same chapter
        // or the whole mix.
        let primary = loop {
            let p = catalog[rng.weighted(&weights)];
            let fits = match anomaly {
                Some(AnomalyKind::Misclassification) => p.lower_duty_sibling.is_some(),
                Some(AnomalyKind::ChplReexport) => p.non_chpl_alias.is_some(),
                _ => true,
            };
            if fits {
                break p;
            }
        };
        let split = anomaly == Some(AnomalyKind::SplitConsignment);
        let n_items = if split || anomaly == Some(AnomalyKind::ChplReexport) {
            1
        } else {
            [1, 2, 3, 4, 5][rng.weighted(&[0.35, 0.25, 0.2, 0.12, 0.08])]
        };
        let mean = match direction {
            Direction::UsToUz => c.mean_value_us_to_uz,
            Direction::UzToUs => c.mean_value_uz_to_us,
        };
        let total_value = if split {
            rng.range_f64(5_000.0, 9_500.0)
        } else {
            rng.lognormal_mean(mean, c.value_sigma)
        };
        let mut products = vec![primary];
        for _ in 1..n_items {
            let same_chapter: Vec<&Product> = catalog
                .iter()
                .filter(|p| p.hs6[..2] == primary.hs6[..2])
                .collect();
            let p = if rng.chance(0.6) {
                **rng.pick(&same_chapter)
            } else {
                catalog[rng.weighted(&weights)]
            };
            products.push(p);
        }
        let shares: Vec<f64> = products.iter().map(|_| rng.range_f64(0.2, 1.0)).collect();
        let share_sum: f64 = shares.iter().sum();
        let export_origin = match (direction, anomaly) {
            (Direction::UzToUs, Some(AnomalyKind::FalseOrigin)) => *rng.pick(&["CN", "RU"]),
            (Direction::UsToUz, _) => "US",
            (Direction::UzToUs, _) => "UZ",
        };
        let lines: Vec<Line> = products
            .iter()
            .zip(&shares)
            .map(|(p, s)| {
                let value = total_value * s / share_sum;
                let net = (value / (p.usd_per_kg * rng.lognormal_mean(1.0, 0.3))).max(0.1);
                let gross = net * rng.range_f64(1.03, 1.15);
                let packages = ((net / p.kg_per_package).ceil() as u64).max(1);
                Line {
                    product: *p,
                    hs6: p.hs6.to_owned(),
                    value,
                    net,
                    gross,
                    packages,
                    origin: export_origin.to_owned(),
                    description: None,
                }
            })
            .collect();
        let value: f64 = lines.iter().map(|l| l.value).sum();
        let net: f64 = lines.iter().map(|l| l.net).sum();
        let gross: f64 = lines.iter().map(|l| l.gross).sum();

        // Mode: air for high value per kg (7.4).
        let usd_per_kg = value / net;
        let air = usd_per_kg > 400.0 || (usd_per_kg > 150.0 && rng.chance(0.5));
        let transport = self.transport(&mut rng, direction, air, gross);
        let transit = if air { rng.int(3, 10) } else { rng.int(18, 40) };
        let year_start = NaiveDate::from_yo_opt(c.year, 1).unwrap_or(NaiveDate::MIN);
        let latest_day = if anomaly == Some(AnomalyKind::ChplReexport) {
            150
        } else {
            365 - 45
        };
        let export_date = year_start + Duration::days(rng.below(latest_day) as i64);
        let import_date = export_date + Duration::days(transit as i64);

        // Parties.
        let us_firm = rng.pick(&self.us_traders).clone();
        let uz_firm = rng.pick(&self.uz_traders).clone();
        let us_broker = rng.pick(&self.us_brokers).clone();
        let uz_broker = rng.pick(&self.uz_brokers).clone();
        let watch = (!self.watchlist.is_empty() && rng.chance(c.watchlist_rate))
            .then(|| rng.pick(&self.watchlist).clone());

        let year = c.year;
        let sid = format!("C{year}-{index:07}");
        let mut truth = TruthRow {
            shipment_id: sid.clone(),
            direction,
            mode: if air { "air" } else { "surface" },
            us_lrns: Vec::new(),
            uz_lrns: Vec::new(),
            hs6: lines[0].hs6.clone(),
            export_value_usd: value,
            anomaly,
            mirror_gap: false,
            watchlist_party: watch.as_ref().map(|(k, _)| k.clone()),
            defect: None,
            detail: String::new(),
        };

        // Which legs exist.
        let phantom_import_only = anomaly == Some(AnomalyKind::PhantomShipment) && rng.chance(0.5);
        let mirror_gap = direction == Direction::UzToUs
            && anomaly.is_none()
            && rng.chance(c.uz_to_us_mirror_gap);
        truth.mirror_gap = mirror_gap;
        let has_export = !phantom_import_only;
        let has_import =
            !mirror_gap && (anomaly != Some(AnomalyKind::PhantomShipment) || phantom_import_only);
        if anomaly == Some(AnomalyKind::PhantomShipment) {
            truth.detail = if phantom_import_only {
                "import leg without any export leg".to_owned()
            } else {
                "export leg without any import leg".to_owned()
            };
        }

        // Import-side lines: noise, then anomalies.
        let fx = 1.0 + (rng.normal() * 0.02).clamp(-0.05, 0.05);
        let mut import_lines: Vec<Line> = lines
            .iter()
            .map(|l| {
                let q = 1.0 + (rng.normal() * 0.01).clamp(-0.03, 0.03);
                Line {
                    value: l.value * fx,
                    net: l.net * q,
                    gross: l.gross * q,
                    ..l.clone()
                }
            })
            .collect();
        match anomaly {
            Some(AnomalyKind::Undervaluation) => {
                let f = rng.range_f64(0.30, 0.70);
                for l in &mut import_lines {
                    l.value = l.value / fx * f;
                }
                truth.detail =
                    format!("import leg declares {:.0} % of the export value", f * 100.0);
            }
            Some(AnomalyKind::Misclassification) => {
                if let Some((sib, rate)) = import_lines[0].product.lower_duty_sibling {
                    truth.detail = format!(
                        "item 1 exported as {} ({} %), imported as sibling {sib} ({rate} %)",
                        import_lines[0].hs6, import_lines[0].product.duty_pct
                    );
                    import_lines[0].hs6 = sib.to_owned();
                }
            }
            Some(AnomalyKind::FalseOrigin) => {
                let declared = *rng.pick(&["UZ", "KZ", "TR", "AE"]);
                for l in &mut import_lines {
                    l.origin = declared.to_owned();
                }
                truth.detail = format!(
                    "origin {export_origin} on the export leg, {declared} on the import leg"
                );
            }
            Some(AnomalyKind::ChplReexport) => {
                if rng.chance(0.5)
                    && let Some(alias) = import_lines[0].product.non_chpl_alias
                {
                    truth.detail = format!(
                        "CHPL {} imported as non-CHPL {alias}; ",
                        import_lines[0].hs6
                    );
                    import_lines[0].hs6 = alias.to_owned();
                } else {
                    truth.detail =
                        format!("CHPL {} imported under its own code; ", import_lines[0].hs6);
                }
            }
            _ => {}
        }

        // Defect (warning-level only).
        let defect = rng.chance(c.defect_rate).then(|| {
            let choices: &[DefectKind] = if air {
                &[DefectKind::GenericDescription, DefectKind::TotalPackages]
            } else {
                &[
                    DefectKind::ContainerCheckDigit,
                    DefectKind::ContainerCheckDigit,
                    DefectKind::ContainerCheckDigit,
                    DefectKind::BlAmsFormat,
                    DefectKind::GenericDescription,
                    DefectKind::TotalPackages,
                ]
            };
            *rng.pick(choices)
        });
        truth.defect = defect;
        // The leg carrying the defect: US for AMS B/L (a US rule), else any existing leg.
        let defect_on_export = match defect {
            Some(DefectKind::BlAmsFormat) => {
                (direction == Direction::UsToUz) == has_export || !has_import
            }
            _ => !has_import || (has_export && rng.chance(0.5)),
        };
        if let Some(d) = defect {
            let leg = if defect_on_export { "export" } else { "import" };
            let sep = if truth.detail.is_empty() { "" } else { "; " };
            truth.detail = format!(
                "{}{sep}defect {} on the {leg} leg",
                truth.detail,
                d.as_str()
            );
        }

        let ucr = rng
            .chance(0.35)
            .then(|| format!("4US{}{}", rng.digits(9), rng.letters(3)));
        let terms = *rng.pick(&["FCA", "FOB", "CPT", "CIP", "DAP", "EXW"]);
        let ctx = ShipmentCtx {
            direction,
            sid: &sid,
            transport: &transport,
            us_firm: &us_firm,
            uz_firm: &uz_firm,
            us_broker: &us_broker,
            uz_broker: &uz_broker,
            watch: watch.as_ref().map(|(_, f)| f),
            ucr: ucr.as_deref(),
            terms,
            anomaly,
        };

        let mut us = Vec::new();
        let mut uz = Vec::new();
        let (export_side_is_us, mut export_lrns, mut import_lrns) =
            (direction == Direction::UsToUz, Vec::new(), Vec::new());
        if has_export {
            let d = defect.filter(|_| defect_on_export);
            let draft = self.render(
                &mut rng,
                &ctx,
                Leg::Export,
                &lines,
                export_date,
                format!("{sid}-EX"),
                d,
            );
            export_lrns.push(draft.header.lrn.clone());
            if export_side_is_us {
                us.push(draft)
            } else {
                uz.push(draft)
            }
        }
        if has_import {
            let d = defect.filter(|_| !defect_on_export);
            let parts: Vec<Vec<Line>> = if split {
                let k = (value / (SPLIT_THRESHOLD_USD * 0.88)).ceil().max(2.0) as usize;
                let w: Vec<f64> = (0..k).map(|_| rng.range_f64(0.92, 1.08)).collect();
                let ws: f64 = w.iter().sum();
                truth.detail = format!(
                    "export leg of {value:.2} USD split into {k} import declarations below {SPLIT_THRESHOLD_USD:.0} USD"
                );
                w.iter()
                    .map(|x| {
                        let l = &import_lines[0];
                        let f = x / ws;
                        let net = l.net * f;
                        vec![Line {
                            value: l.value * f,
                            net,
                            gross: l.gross * f,
                            packages: ((net / l.product.kg_per_package).ceil() as u64).max(1),
                            ..l.clone()
                        }]
                    })
                    .collect()
            } else {
                vec![import_lines.clone()]
            };
            let n_parts = parts.len();
            for (k, part) in parts.iter().enumerate() {
                let lrn = if n_parts > 1 {
                    format!("{sid}-IM{}", k + 1)
                } else {
                    format!("{sid}-IM")
                };
                let date = import_date + Duration::days(k as i64);
                let draft = self.render(
                    &mut rng,
                    &ctx,
                    Leg::Import,
                    part,
                    date,
                    lrn,
                    d.filter(|_| k == 0),
                );
                import_lrns.push(draft.header.lrn.clone());
                if export_side_is_us {
                    uz.push(draft)
                } else {
                    us.push(draft)
                }
            }
        }
        if anomaly == Some(AnomalyKind::ChplReexport) {
            let buyer = rng.pick(&self.third_country_buyers).clone();
            let date = import_date + Duration::days(rng.int(10, 60) as i64);
            let q = rng.range_f64(0.9, 1.0);
            let re_lines: Vec<Line> = import_lines
                .iter()
                .map(|l| Line {
                    value: l.value * rng.range_f64(1.05, 1.3) * q,
                    net: l.net * q,
                    gross: l.gross * q,
                    ..l.clone()
                })
                .collect();
            let draft = self.reexport(&mut rng, &ctx, &buyer, &re_lines, date, format!("{sid}-RX"));
            let dest = buyer.address.country.clone().unwrap_or_default();
            truth.detail.push_str(&format!(
                "re-exported by the consignee to {dest} ({})",
                draft.header.lrn
            ));
            import_lrns.push(draft.header.lrn.clone());
            uz.push(draft);
        }
        let mut legs: Vec<&mut DeclarationDraft> = us.iter_mut().chain(uz.iter_mut()).collect();
        crate::difficulty::perturb(c, index, &mut legs);
        match direction {
            Direction::UsToUz => {
                truth.us_lrns = export_lrns;
                truth.uz_lrns = import_lrns;
            }
            Direction::UzToUs => {
                truth.uz_lrns = export_lrns;
                truth.us_lrns = import_lrns;
            }
        }
        Shipment { us, uz, truth }
    }

    fn transport(&self, rng: &mut Rng, direction: Direction, air: bool, gross: f64) -> Transport {
        let us_candidates: Vec<Office> = US_OFFICES
            .iter()
            .copied()
            .filter(|o| o.air == air)
            .collect();
        let uz_candidates: Vec<Office> = UZ_OFFICES
            .iter()
            .copied()
            .filter(|o| o.air == air || (!air && o.code.starts_with("2")))
            .collect();
        let us_office = *rng.pick(&us_candidates);
        let uz_office = *rng.pick(&uz_candidates);
        let airline = *rng.pick(AIRLINES);
        let ocean = *rng.pick(OCEAN_CARRIERS);
        let route = ROUTES[rng.weighted(&ROUTES.iter().map(|r| r.weight).collect::<Vec<_>>())];
        let inland_choices: Vec<_> = INLAND_CARRIERS
            .iter()
            .copied()
            .filter(|c| c.2 == (route.uz_mode == "2"))
            .collect();
        let inland = *rng.pick(&inland_choices);
        let mut route_countries: Vec<String> = if air {
            airline.3.map(|h| vec![h.to_owned()]).unwrap_or_default()
        } else {
            route.countries.iter().map(|s| (*s).to_owned()).collect()
        };
        if direction == Direction::UzToUs {
            route_countries.reverse();
        }
        let n_containers = if air {
            0
        } else {
            ((gross / 22_000.0).ceil() as usize).clamp(1, 8)
        };
        let containers = (0..n_containers)
            .map(|_| (ids::container(rng, false), format!("SL{}", rng.digits(7))))
            .collect();
        let inland_doc = if route.uz_mode == "2" {
            format!("SMGS{}", rng.digits(8))
        } else {
            format!("CMR{}", rng.digits(7))
        };
        Transport {
            air,
            us_office,
            uz_office,
            route_countries,
            port: route.port,
            uz_mode: route.uz_mode,
            waybill: if air {
                ids::air_waybill(rng, airline.1)
            } else {
                ids::ams_bill_of_lading(rng, ocean.1)
            },
            airline: (airline.0, airline.1, airline.2),
            flight: format!(
                "{}{}",
                &airline.0[..2].to_ascii_uppercase(),
                rng.int(100, 9999)
            ),
            ocean,
            vessel_imo: ids::imo_number(rng),
            inland,
            inland_doc,
            containers,
        }
    }
}

struct ShipmentCtx<'a> {
    direction: Direction,
    sid: &'a str,
    transport: &'a Transport,
    us_firm: &'a Firm,
    uz_firm: &'a Firm,
    us_broker: &'a Firm,
    uz_broker: &'a Firm,
    watch: Option<&'a Firm>,
    ucr: Option<&'a str>,
    terms: &'static str,
    anomaly: Option<AnomalyKind>,
}

impl World {
    #[allow(clippy::too_many_arguments)]
    fn render(
        &self,
        rng: &mut Rng,
        x: &ShipmentCtx<'_>,
        leg: Leg,
        lines: &[Line],
        date: NaiveDate,
        lrn: String,
        defect: Option<DefectKind>,
    ) -> DeclarationDraft {
        let t = x.transport;
        let at_us = (x.direction == Direction::UsToUz) == (leg == Leg::Export);
        let office = if at_us { t.us_office } else { t.uz_office };
        let (exporter_firm, importer_firm) = match x.direction {
            Direction::UsToUz => (x.us_firm, x.uz_firm),
            Direction::UzToUs => (x.uz_firm, x.us_firm),
        };
        let broker = if at_us { x.us_broker } else { x.uz_broker };
        let import = leg == Leg::Import;

        // Parties: the same firms on both legs, in the roles each leg uses.
        let mut parties = vec![broker.party("DT")];
        if import {
            parties.push(if at_us {
                importer_firm.importer_of_record()
            } else {
                importer_firm.party("IM")
            });
            parties.push(importer_firm.party("CN"));
            parties.push(exporter_firm.party("CZ"));
            parties.push(exporter_firm.commercial("SE"));
        } else {
            parties.push(exporter_firm.party("EX"));
            parties.push(importer_firm.party("CN"));
            parties.push(exporter_firm.commercial("SE"));
        }
        match (x.direction, x.watch) {
            (Direction::UsToUz, Some(w)) => parties.push(w.party("BY")),
            (Direction::UzToUs, Some(w)) => {
                parties.retain(|p| p.role != "SE");
                parties.push(w.party("SE"));
                parties.push(importer_firm.commercial("BY"));
            }
            _ => parties.push(importer_firm.commercial("BY")),
        }
        let carrier = if t.air {
            t.airline.0
        } else if at_us {
            t.ocean.0
        } else {
            t.inland.0
        };
        parties.push(PartyDraft {
            role: "CA".to_owned(),
            name: Some(carrier.to_owned()),
            ..PartyDraft::default()
        });
        if rng.chance(0.2) {
            parties.push(PartyDraft {
                function_code: None,
                ..broker.party("NI")
            });
        }
        if rng.chance(0.15) {
            parties.push(PartyDraft {
                role: "MF".to_owned(),
                ..exporter_firm.party("MF")
            });
        }

        // Transport.
        let mut transport = TransportDraft {
            dispatch_country: Some(match x.direction {
                Direction::UsToUz => "US".to_owned(),
                Direction::UzToUs => "UZ".to_owned(),
            }),
            destination_country: Some(match x.direction {
                Direction::UsToUz => "UZ".to_owned(),
                Direction::UzToUs => "US".to_owned(),
            }),
            routing_countries: t.route_countries.clone(),
            ..TransportDraft::default()
        };
        let departure = if import {
            date - Duration::days(1)
        } else {
            date
        };
        if import {
            transport.arrival_date = Some(date.format("%Y-%m-%d").to_string());
            transport.entry_office = Some(office.code.to_owned());
        } else {
            transport.departure_date = Some(departure.format("%Y-%m-%d").to_string());
            transport.exit_office = Some(office.code.to_owned());
        }
        if x.anomaly == Some(AnomalyKind::FalseOrigin) && import {
            let hub = if lines.first().is_some_and(|l| l.origin == "AE") {
                "AE"
            } else {
                "TR"
            };
            transport.routing_countries.insert(0, hub.to_owned());
        }
        if t.air {
            transport.border_mode = Some("4".to_owned());
            transport.inland_mode = Some("3".to_owned());
            transport.border_means_id = Some(t.flight.clone());
            transport.border_means_type = Some("41".to_owned());
            transport.border_means_nationality = Some(t.airline.2.to_owned());
            transport.documents.push(DocumentDraft {
                id: t.waybill.clone(),
                type_code: Some("740".to_owned()),
                category: Some("Z".to_owned()),
            });
            transport.container_indicator = Some("0".to_owned());
            let (us_place, uz_place) = (t.us_office.locode, t.uz_office.locode);
            (transport.loading_place, transport.unloading_place) = match x.direction {
                Direction::UsToUz => (Some(us_place.to_owned()), Some(uz_place.to_owned())),
                Direction::UzToUs => (Some(uz_place.to_owned()), Some(us_place.to_owned())),
            };
        } else {
            transport.container_indicator = Some("1".to_owned());
            transport.equipment = t
                .containers
                .iter()
                .enumerate()
                .map(|(i, (no, seal))| {
                    let container_id = if i == 0 && defect == Some(DefectKind::ContainerCheckDigit)
                    {
                        let mut bad = no.clone();
                        let last = bad.pop().and_then(|ch| ch.to_digit(10)).unwrap_or(0);
                        bad.push(char::from(
                            b'0' + ((last + 1 + rng.below(8) as u32) % 10) as u8,
                        ));
                        bad
                    } else {
                        no.clone()
                    };
                    EquipmentDraft {
                        container_id,
                        seals: vec![seal.clone()],
                    }
                })
                .collect();
            let bl = if defect == Some(DefectKind::BlAmsFormat) {
                t.waybill[4..].to_owned()
            } else {
                t.waybill.clone()
            };
            if at_us {
                transport.border_mode = Some("1".to_owned());
                transport.inland_mode = Some("3".to_owned());
                transport.border_means_id = Some(t.vessel_imo.clone());
                transport.border_means_type = Some("10".to_owned());
                transport.border_means_nationality = Some(t.ocean.2.to_owned());
                transport.documents.push(DocumentDraft {
                    id: bl,
                    type_code: Some("705".to_owned()),
                    category: Some("Z".to_owned()),
                });
                (transport.loading_place, transport.unloading_place) = match x.direction {
                    Direction::UsToUz => {
                        (Some(t.us_office.locode.to_owned()), Some(t.port.to_owned()))
                    }
                    Direction::UzToUs => {
                        (Some(t.port.to_owned()), Some(t.us_office.locode.to_owned()))
                    }
                };
            } else {
                transport.border_mode = Some(t.uz_mode.to_owned());
                transport.inland_mode = Some(t.uz_mode.to_owned());
                transport.border_means_id = Some(if t.uz_mode == "2" {
                    format!("{}", rng.int(50_000_000, 59_999_999))
                } else {
                    format!("{}{}{}", rng.digits(2), rng.letters(1), rng.digits(3))
                });
                transport.border_means_type =
                    Some(if t.uz_mode == "2" { "WAGON" } else { "TRUCK" }.to_owned());
                transport.border_means_nationality = Some(t.inland.1.to_owned());
                let inland_type = if t.uz_mode == "2" { "720" } else { "730" };
                transport.documents.push(DocumentDraft {
                    id: t.inland_doc.clone(),
                    type_code: Some(inland_type.to_owned()),
                    category: Some("Z".to_owned()),
                });
                if rng.chance(0.7) {
                    transport.documents.push(DocumentDraft {
                        id: bl,
                        type_code: Some("705".to_owned()),
                        category: Some("Z".to_owned()),
                    });
                }
                (transport.loading_place, transport.unloading_place) = match x.direction {
                    Direction::UsToUz => {
                        (Some(t.port.to_owned()), Some(t.uz_office.locode.to_owned()))
                    }
                    Direction::UzToUs => {
                        (Some(t.uz_office.locode.to_owned()), Some(t.port.to_owned()))
                    }
                };
            }
        }
        transport.goods_location = Some(office.name.to_owned());

        // Items and duties.
        let cif = if t.air { 1.08 } else { 1.10 };
        let duty_currency = if at_us { "USD" } else { "UZS" };
        let fx_duty = if at_us { 1.0 } else { UZS_PER_USD };
        let mut duty_total = 0.0;
        let mut items = Vec::with_capacity(lines.len());
        for (i, l) in lines.iter().enumerate() {
            let code = national(&l.hs6, if at_us { 1 } else { 2 });
            let description = if defect == Some(DefectKind::GenericDescription) && i == 0 {
                "parts".to_owned()
            } else if let Some(d) = &l.description {
                d.clone()
            } else if at_us {
                l.product.description.to_owned()
            } else {
                l.product.description_ru.to_owned()
            };
            let price = (l.value * 100.0).round() / 100.0;
            // US customs value is the transaction value without international freight
            // (19 U.S.C. 1401a); Uzbek customs value is CIF.
            let customs_value = if import && !at_us { price * cif } else { price };
            let mut duties = Vec::new();
            if import {
                let rate = if l.hs6 == l.product.hs6 {
                    l.product.duty_pct
                } else {
                    l.product
                        .lower_duty_sibling
                        .filter(|s| s.0 == l.hs6)
                        .map_or(l.product.duty_pct, |s| s.1)
                };
                // The base is the customs value in the item currency (USD); the assessed
                // amount is in the node's duty currency (USD or UZS).
                let base = customs_value;
                let duty = base * rate / 100.0 * fx_duty;
                duties.push(DutyDraft {
                    tax_type: if at_us { "A00" } else { "CD" }.to_owned(),
                    base: Some(money(base)),
                    // WCO 164 is a duty regime code (an..3), not the rate: UN 5305 `S`,
                    // standard rate. The rate itself is implied by base and assessed amount.
                    rate: Some("S".to_owned()),
                    assessed: Some(money(duty)),
                    currency: Some(duty_currency.to_owned()),
                    payment_method: Some("A".to_owned()),
                });
                duty_total += duty;
                let (tax, r, b) = if at_us {
                    ("499", 0.3464, base)
                } else {
                    ("VAT", 12.0, base + duty / fx_duty)
                };
                let extra = b * r / 100.0 * fx_duty;
                duties.push(DutyDraft {
                    tax_type: tax.to_owned(),
                    base: Some(money(b)),
                    rate: Some("S".to_owned()),
                    assessed: Some(money(extra)),
                    currency: Some(duty_currency.to_owned()),
                    payment_method: Some("A".to_owned()),
                });
                duty_total += extra;
            }
            let (quantity, unit) = match l.product.unit {
                Some((u, unit_price)) => {
                    (format!("{}", (l.value / unit_price).round().max(1.0)), u)
                }
                None => (kg(l.net), "KGM"),
            };
            items.push(GoodsItemDraft {
                sequence: (i + 1).to_string(),
                commodity_code: Some(code),
                classification_type: Some(if at_us { "HTS" } else { "TNV" }.to_owned()),
                description: Some(description),
                origin_country: Some(l.origin.clone()),
                origin_type: Some("1".to_owned()),
                gross_mass: Some(kg(l.gross)),
                net_mass: Some(kg(l.net)),
                quantity: Some(quantity),
                quantity_unit: Some(unit.to_owned()),
                packages_count: Some(l.packages.to_string()),
                package_kind: Some(l.product.package_kind.to_owned()),
                package_marks: Some(format!("{} {}/{}", x.sid, i + 1, lines.len())),
                item_price: Some(money(price)),
                customs_value: Some(money(customs_value)),
                statistical_value: Some(money(customs_value)),
                value_currency: Some("USD".to_owned()),
                procedure: Some(if import { "4000" } else { "1000" }.to_owned()),
                nature_of_transaction: Some("11".to_owned()),
                duties,
                ..GoodsItemDraft::default()
            });
        }
        let invoice: f64 = items
            .iter()
            .filter_map(|i| i.item_price.as_deref())
            .filter_map(|v| v.parse::<f64>().ok())
            .sum();
        let gross: f64 = items
            .iter()
            .filter_map(|i| i.gross_mass.as_deref())
            .filter_map(|v| v.parse::<f64>().ok())
            .sum();
        let mut packages: u64 = lines.iter().map(|l| l.packages).sum();
        if defect == Some(DefectKind::TotalPackages) {
            packages += rng.int(1, 5);
        }

        let minutes = rng.int(8 * 60, 18 * 60);
        let accepted = minutes + rng.int(20, 300);
        let mrn = match (import, at_us) {
            (true, true) => {
                let filer = format!("{}{}", rng.letters(2), rng.digits(1));
                Some(ids::cbp_entry_number(&filer, rng.int(0, 9_999_999) as u32))
            }
            (_, false) => Some(format!(
                "{}/{}/{}",
                office.code,
                date.format("%d.%m.%Y"),
                rng.digits(7)
            )),
            // US exports: the AES ITN is not a CBP entry number; none is set.
            (false, true) => None,
        };
        let type_code = match (import, t.air, at_us) {
            (true, _, _) => "IMA",
            (false, true, true) => "EXA",
            (false, false, true) => "EXD",
            (false, _, false) => "EXA",
        };
        let outcome = self.outcome(rng, at_us, import, x.anomaly, duty_total, duty_currency);
        let freight = (invoice * (cif - 1.0) * 100.0).round() / 100.0;
        DeclarationDraft {
            header: HeaderDraft {
                type_code: type_code.to_owned(),
                function_code: "9".to_owned(),
                lrn,
                mrn,
                issued_at: Some(datetime(date, minutes, office.utc_offset)),
                place_of_issue: Some(office.locode.to_owned()),
                accepted_at: Some(datetime(
                    date,
                    accepted.min(23 * 60 + 59),
                    office.utc_offset,
                )),
                declaration_office: Some(office.code.to_owned()),
                goods_item_count: Some(items.len().to_string()),
                total_packages: Some(packages.to_string()),
                total_gross_mass: Some(kg(gross)),
                invoice_total: Some(money(invoice)),
                invoice_currency: Some("USD".to_owned()),
                ucr: x.ucr.map(str::to_owned),
                delivery_terms: Some(x.terms.to_owned()),
                delivery_place: transport.loading_place.clone(),
                valuation_method: import.then(|| "1".to_owned()),
                nature_of_transaction: Some("11".to_owned()),
                freight_charge: import.then(|| money(freight)),
                freight_currency: import.then(|| "USD".to_owned()),
                freight_payment_method: None,
            },
            parties,
            transport,
            items,
            outcome: Some(outcome),
            amendments: Vec::new(),
        }
    }

    /// The extra UZ export of a CHPL re-export: the Uzbek consignee ships the goods on to a
    /// third country by road or rail through Kazakhstan.
    fn reexport(
        &self,
        rng: &mut Rng,
        x: &ShipmentCtx<'_>,
        buyer: &Firm,
        lines: &[Line],
        date: NaiveDate,
        lrn: String,
    ) -> DeclarationDraft {
        let dest = buyer
            .address
            .country
            .clone()
            .unwrap_or_else(|| "RU".to_owned());
        let transport = Transport {
            air: false,
            route_countries: if dest == "KZ" {
                Vec::new()
            } else {
                vec!["KZ".to_owned()]
            },
            containers: vec![(ids::container(rng, false), format!("SL{}", rng.digits(7)))],
            inland_doc: format!("CMR{}", rng.digits(7)),
            uz_mode: "3",
            ..x.transport.clone()
        };
        let ctx = ShipmentCtx {
            direction: Direction::UzToUs,
            transport: &transport,
            us_firm: buyer,
            ucr: None,
            watch: None,
            anomaly: None,
            ..*x
        };
        let mut draft = self.render(rng, &ctx, Leg::Export, lines, date, lrn, None);
        draft.transport.destination_country = Some(dest.clone());
        draft.transport.unloading_place = None;
        draft
            .transport
            .documents
            .retain(|d| d.type_code.as_deref() != Some("705"));
        for item in &mut draft.items {
            item.origin_country = Some("US".to_owned());
            item.procedure = Some("3100".to_owned());
        }
        draft
    }

    fn outcome(
        &self,
        rng: &mut Rng,
        at_us: bool,
        import: bool,
        anomaly: Option<AnomalyKind>,
        duty: f64,
        currency: &str,
    ) -> OutcomeDraft {
        let c = &self.config;
        let (red, yellow) = if at_us {
            (c.us_inspection_rate, c.us_documentary_rate)
        } else {
            (c.uz_inspection_rate, c.uz_documentary_rate)
        };
        // Anomalous import legs are selected four times as often; ordinary legs a little
        // less, so that the overall red rate stays at the configured rate.
        const BOOST: f64 = 4.0;
        let a = c.anomaly_rate.clamp(0.0, 0.2);
        let anomalous = import && anomaly.is_some();
        let p_red = if anomalous {
            (red * BOOST).min(1.0)
        } else {
            (red * (1.0 - a * BOOST) / (1.0 - a)).max(0.0)
        };
        let x = rng.f64();
        let (lane, result) = if x < p_red {
            let found = if anomalous {
                rng.chance(0.8)
            } else {
                rng.chance(0.04)
            };
            (
                "red",
                if found {
                    "discrepancy"
                } else {
                    "no_discrepancy"
                },
            )
        } else if x < p_red + yellow {
            ("yellow", "not_inspected")
        } else {
            ("green", "not_inspected")
        };
        let seized = lane == "red" && result == "discrepancy" && anomalous && rng.chance(0.3);
        let recovered = if result == "discrepancy" && import {
            duty * rng.range_f64(0.3, 1.0)
        } else {
            0.0
        };
        OutcomeDraft {
            lane: lane.to_owned(),
            inspection_result: Some(result.to_owned()),
            seized: Some(seized.to_string()),
            duty_assessed: Some(money(duty)),
            duty_recovered: Some(money(recovered)),
            currency: Some(currency.to_owned()),
        }
    }
}
