//! The corridor's fixed vocabulary: goods, offices, places, carriers and name parts.
//!
//! Goods are a curated list of real HS 2022 subheadings from the chapters named in
//! `spec/declarations.md` 7.4 (US→UZ: 88, 84, 85, 87, 90, 02, 10, 30, 38; UZ→US: 52, 61–63,
//! 08, 28, 81, 71), each with a value per kilogram, a package kind and, where the heading has
//! one, a lower-duty sibling subheading used for injected misclassification. A curated list
//! (rather than every subheading of a chapter) keeps values, masses and modes plausible:
//! a random subheading of chapter 88 might be a spacecraft. The tests check every code
//! against the HS 2022 table and the CHPL shipped in `caravan-domain`.
//!
//! Duty rates here are **illustrative**: neither the HTSUS nor the Uzbek TN VED is open
//! machine-readable data (spec 1), so the rates only order codes (a sibling is "lower-duty")
//! and give outcomes a plausible size. They are not tariff advice.

/// One kind of goods the corridor trades.
#[derive(Debug, Clone, Copy)]
pub struct Product {
    /// HS 2022 subheading (6 digits).
    pub hs6: &'static str,
    /// Plain-English goods description (used on US filings).
    pub description: &'static str,
    /// Russian description (used on Uzbek filings, as Uzbek declarations are lodged).
    pub description_ru: &'static str,
    /// Relative weight within its direction's mix.
    pub weight: f64,
    /// Median customs value per kg of net mass, USD.
    pub usd_per_kg: f64,
    /// Supplementary unit (UN/ECE Rec 20) and typical unit price in USD, or `None` for kg.
    pub unit: Option<(&'static str, f64)>,
    /// Package kind (UN/ECE Rec 21).
    pub package_kind: &'static str,
    /// Typical net kg per package.
    pub kg_per_package: f64,
    /// Illustrative import duty rate of this code, percent.
    pub duty_pct: f64,
    /// A sibling subheading under the same heading with a lower illustrative rate.
    pub lower_duty_sibling: Option<(&'static str, f64)>,
    /// For CHPL codes: a non-CHPL code the goods are sometimes declared under instead.
    pub non_chpl_alias: Option<&'static str>,
}

// A table row constructor: positional arguments keep the table one line per product.
#[allow(clippy::too_many_arguments)]
const fn p(
    hs6: &'static str,
    description: &'static str,
    description_ru: &'static str,
    weight: f64,
    usd_per_kg: f64,
    unit: Option<(&'static str, f64)>,
    package: (&'static str, f64),
    duty_pct: f64,
    lower_duty_sibling: Option<(&'static str, f64)>,
    non_chpl_alias: Option<&'static str>,
) -> Product {
    Product {
        hs6,
        description,
        description_ru,
        weight,
        usd_per_kg,
        unit,
        package_kind: package.0,
        kg_per_package: package.1,
        duty_pct,
        lower_duty_sibling,
        non_chpl_alias,
    }
}

/// US→UZ mix: chapters 88, 84, 85, 87, 90, 02, 10, 30, 38 (spec 7.4, indicative).
pub const US_TO_UZ: &[Product] = &[
    p(
        "880730",
        "Parts of aeroplanes: landing gear actuators",
        "Части самолетов: приводы шасси",
        4.0,
        450.0,
        None,
        ("CS", 40.0),
        0.0,
        Some(("880790", 0.0)),
        Some("880790"),
    ),
    p(
        "841191",
        "Parts of turbo-jet engines: compressor blades",
        "Части турбореактивных двигателей: лопатки",
        3.0,
        900.0,
        None,
        ("CS", 30.0),
        2.0,
        Some(("841199", 0.0)),
        None,
    ),
    p(
        "842952",
        "Hydraulic excavators, 360-degree revolving",
        "Экскаваторы гидравлические полноповоротные",
        6.0,
        12.0,
        Some(("C62", 160_000.0)),
        ("NE", 20_000.0),
        5.0,
        Some(("842959", 0.0)),
        None,
    ),
    p(
        "843239",
        "Precision planters for cotton and grain",
        "Сеялки точного высева для хлопка и зерна",
        4.0,
        11.0,
        Some(("C62", 45_000.0)),
        ("NE", 4_000.0),
        5.0,
        Some(("843229", 0.0)),
        None,
    ),
    p(
        "847130",
        "Portable computers (laptops)",
        "Портативные компьютеры (ноутбуки)",
        5.0,
        320.0,
        Some(("C62", 950.0)),
        ("CT", 12.0),
        0.0,
        None,
        None,
    ),
    p(
        "848180",
        "Industrial ball valves for pipelines",
        "Шаровые краны промышленные для трубопроводов",
        5.0,
        40.0,
        None,
        ("CS", 60.0),
        5.0,
        Some(("848190", 2.0)),
        None,
    ),
    p(
        "848210",
        "Ball bearings",
        "Подшипники шариковые",
        3.0,
        22.0,
        Some(("C62", 8.0)),
        ("CT", 25.0),
        5.0,
        Some(("848280", 2.0)),
        Some("848280"),
    ),
    p(
        "851762",
        "Network switches and routers",
        "Коммутаторы и маршрутизаторы сетевые",
        5.0,
        260.0,
        Some(("C62", 1_200.0)),
        ("CT", 10.0),
        0.0,
        None,
        Some("851779"),
    ),
    p(
        "850440",
        "Static converters: uninterruptible power supplies",
        "Статические преобразователи: ИБП",
        3.0,
        60.0,
        Some(("C62", 900.0)),
        ("CT", 20.0),
        5.0,
        Some(("850490", 2.0)),
        Some("850490"),
    ),
    p(
        "854231",
        "Electronic integrated circuits: processors",
        "Интегральные схемы: процессоры",
        2.0,
        5_000.0,
        Some(("C62", 120.0)),
        ("CT", 2.0),
        0.0,
        None,
        Some("854290"),
    ),
    p(
        "854442",
        "Insulated electric cables with connectors, <= 1000 V",
        "Кабели электрические изолированные с соединителями",
        4.0,
        15.0,
        None,
        ("RL", 50.0),
        10.0,
        Some(("854449", 5.0)),
        None,
    ),
    p(
        "870323",
        "Passenger cars, spark-ignition, 1500-3000 cc",
        "Легковые автомобили бензиновые 1500-3000 см3",
        8.0,
        16.0,
        Some(("C62", 28_000.0)),
        ("NE", 1_600.0),
        15.0,
        Some(("870322", 10.0)),
        None,
    ),
    p(
        "870195",
        "Agricultural tractors, over 130 kW",
        "Тракторы сельскохозяйственные более 130 кВт",
        4.0,
        14.0,
        Some(("C62", 180_000.0)),
        ("NE", 12_000.0),
        5.0,
        Some(("870194", 0.0)),
        None,
    ),
    p(
        "870899",
        "Motor vehicle parts and accessories",
        "Части и принадлежности автомобилей",
        5.0,
        20.0,
        None,
        ("CT", 30.0),
        10.0,
        Some(("870829", 5.0)),
        None,
    ),
    p(
        "901890",
        "Medical instruments and appliances",
        "Медицинские инструменты и аппараты",
        5.0,
        220.0,
        None,
        ("CT", 15.0),
        0.0,
        None,
        None,
    ),
    p(
        "902750",
        "Spectrophotometers using optical radiation",
        "Спектрофотометры на оптическом излучении",
        2.0,
        500.0,
        Some(("C62", 25_000.0)),
        ("CS", 50.0),
        0.0,
        None,
        Some("902790"),
    ),
    p(
        "020714",
        "Frozen chicken leg quarters",
        "Окорочка куриные замороженные",
        8.0,
        2.2,
        None,
        ("CT", 15.0),
        15.0,
        Some(("020712", 10.0)),
        None,
    ),
    p(
        "020230",
        "Frozen boneless beef",
        "Говядина бескостная замороженная",
        4.0,
        6.5,
        None,
        ("CT", 25.0),
        10.0,
        Some(("020220", 5.0)),
        None,
    ),
    p(
        "100199",
        "Wheat, other than durum, for milling",
        "Пшеница мягкая продовольственная",
        3.0,
        0.32,
        None,
        ("JB", 1_000.0),
        5.0,
        Some(("100191", 0.0)),
        None,
    ),
    p(
        "100630",
        "Milled rice",
        "Рис полуобрушенный или полностью обрушенный",
        2.0,
        0.9,
        None,
        ("BG", 25.0),
        5.0,
        Some(("100640", 2.0)),
        None,
    ),
    p(
        "300490",
        "Medicaments, packaged for retail sale",
        "Лекарственные средства в расфасованном виде",
        6.0,
        160.0,
        None,
        ("CT", 8.0),
        0.0,
        None,
        None,
    ),
    p(
        "300215",
        "Immunological products, put up in measured doses",
        "Иммунологические продукты в отмеренных дозах",
        2.0,
        2_000.0,
        None,
        ("CT", 3.0),
        0.0,
        None,
        None,
    ),
    p(
        "380893",
        "Herbicides",
        "Гербициды",
        3.0,
        6.0,
        None,
        ("DR", 200.0),
        10.0,
        Some(("380899", 5.0)),
        None,
    ),
    p(
        "382499",
        "Chemical preparations n.e.c.",
        "Химические продукты и препараты прочие",
        2.0,
        3.5,
        None,
        ("DR", 200.0),
        5.0,
        Some(("382491", 2.0)),
        None,
    ),
];

/// UZ→US mix: chapters 52, 61–63, 08, 28, 81, 71 (spec 7.4, indicative).
pub const UZ_TO_US: &[Product] = &[
    p(
        "520100",
        "Cotton, not carded or combed",
        "Хлопок-волокно, не кардо- и не гребнечесанное",
        4.0,
        1.9,
        None,
        ("BL", 220.0),
        0.0,
        None,
        None,
    ),
    p(
        "520512",
        "Single cotton yarn, uncombed, 232.56-714.29 dtex",
        "Пряжа хлопчатобумажная однониточная некардная",
        10.0,
        3.4,
        None,
        ("BG", 45.0),
        5.0,
        Some(("520511", 2.0)),
        None,
    ),
    p(
        "520832",
        "Dyed plain-weave cotton fabric, 100-200 g/m2",
        "Ткани хлопчатобумажные окрашенные полотняного переплетения",
        5.0,
        8.0,
        None,
        ("RL", 60.0),
        10.0,
        Some(("520831", 7.0)),
        None,
    ),
    p(
        "610910",
        "Cotton T-shirts, knitted",
        "Футболки трикотажные хлопчатобумажные",
        9.0,
        26.0,
        Some(("C62", 4.5)),
        ("CT", 15.0),
        16.5,
        None,
        None,
    ),
    p(
        "611030",
        "Pullovers and cardigans of man-made fibres, knitted",
        "Джемперы и кардиганы трикотажные из химических волокон",
        4.0,
        30.0,
        Some(("C62", 9.0)),
        ("CT", 12.0),
        32.0,
        Some(("611020", 16.5)),
        None,
    ),
    p(
        "620342",
        "Men's cotton trousers",
        "Брюки мужские хлопчатобумажные",
        6.0,
        32.0,
        Some(("C62", 8.0)),
        ("CT", 15.0),
        16.6,
        Some(("620349", 8.5)),
        None,
    ),
    p(
        "630231",
        "Cotton bed linen, not printed",
        "Постельное белье хлопчатобумажное ненабивное",
        6.0,
        12.0,
        None,
        ("CT", 20.0),
        6.7,
        None,
        None,
    ),
    p(
        "630260",
        "Terry towels of cotton",
        "Полотенца махровые хлопчатобумажные",
        5.0,
        10.0,
        None,
        ("CT", 20.0),
        9.1,
        Some(("630291", 6.7)),
        None,
    ),
    p(
        "080620",
        "Raisins (dried grapes)",
        "Изюм (виноград сушеный)",
        6.0,
        2.6,
        None,
        ("CT", 12.5),
        1.8,
        Some(("080610", 0.0)),
        None,
    ),
    p(
        "081310",
        "Dried apricots",
        "Курага (абрикосы сушеные)",
        4.0,
        4.2,
        None,
        ("CT", 10.0),
        1.8,
        Some(("081340", 0.0)),
        None,
    ),
    p(
        "281820",
        "Aluminium oxide, other than artificial corundum",
        "Оксид алюминия, кроме искусственного корунда",
        2.0,
        0.55,
        None,
        ("JB", 1_000.0),
        0.0,
        None,
        None,
    ),
    p(
        "280461",
        "Silicon, >= 99.99 % pure",
        "Кремний с содержанием не менее 99,99 %",
        2.0,
        15.0,
        None,
        ("BG", 25.0),
        5.3,
        Some(("280469", 5.3)),
        None,
    ),
    p(
        "810194",
        "Unwrought tungsten",
        "Вольфрам необработанный",
        2.0,
        40.0,
        None,
        ("DR", 100.0),
        7.0,
        Some(("810199", 3.7)),
        None,
    ),
    p(
        "810294",
        "Unwrought molybdenum",
        "Молибден необработанный",
        2.0,
        45.0,
        None,
        ("DR", 100.0),
        1.9,
        Some(("810299", 0.0)),
        None,
    ),
    p(
        "710812",
        "Non-monetary gold, unwrought",
        "Золото немонетарное необработанное",
        1.0,
        60_000.0,
        None,
        ("CS", 12.5),
        0.0,
        None,
        None,
    ),
    p(
        "711319",
        "Gold jewellery",
        "Ювелирные изделия из золота",
        2.0,
        30_000.0,
        Some(("C62", 600.0)),
        ("CS", 2.0),
        5.5,
        Some(("711311", 5.0)),
        None,
    ),
    p(
        "710691",
        "Unwrought silver",
        "Серебро необработанное",
        1.0,
        800.0,
        None,
        ("CS", 30.0),
        2.8,
        Some(("710692", 2.8)),
        None,
    ),
];

/// A customs office of a node: code, name, UN/LOCODE, UTC offset (standard time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Office {
    /// Office code as the node's declarations carry it (WCO 065).
    pub code: &'static str,
    /// Human-readable name.
    pub name: &'static str,
    /// UN/LOCODE of the place (checked against the UN/LOCODE list).
    pub locode: &'static str,
    /// ISO 8601 UTC offset of local standard time (daylight saving is ignored).
    pub utc_offset: &'static str,
    /// Whether the office handles air cargo (otherwise sea, rail or road).
    pub air: bool,
}

const fn o(
    code: &'static str,
    name: &'static str,
    locode: &'static str,
    utc_offset: &'static str,
    air: bool,
) -> Office {
    Office {
        code,
        name,
        locode,
        utc_offset,
        air,
    }
}

/// US ports of entry and export used by the corridor: CBP four-digit port codes
/// (district + port). Note that 4701 is John F. Kennedy Airport, not Houston (5301).
pub const US_OFFICES: &[Office] = &[
    o("1001", "New York, NY", "USNYC", "-05:00", false),
    o(
        "4701",
        "John F. Kennedy Airport, NY",
        "USJFK",
        "-05:00",
        true,
    ),
    o("2704", "Los Angeles, CA", "USLAX", "-08:00", false),
    o("5301", "Houston-Galveston, TX", "USHOU", "-06:00", false),
    o("5501", "Dallas-Fort Worth, TX", "USDFW", "-06:00", true),
    o("3901", "Chicago, IL", "USORD", "-06:00", true),
    o("1703", "Savannah, GA", "USSAV", "-05:00", false),
];

/// Uzbek customs posts used by the corridor. The official post register is not open
/// data; these five-digit codes follow the SOATO region prefix (26 Tashkent city,
/// 27 Tashkent region, 18 Samarkand, 03 Andijan, 06 Bukhara) and are **illustrative**.
pub const UZ_OFFICES: &[Office] = &[
    o(
        "26001",
        "Tashkent city, Chukursay rail terminal",
        "UZCHU",
        "+05:00",
        false,
    ),
    o(
        "26002",
        "Tashkent city, Sergeli cargo complex",
        "UZTSH",
        "+05:00",
        false,
    ),
    o(
        "26003",
        "Tashkent International Airport (Tashkent-AERO)",
        "UZTAS",
        "+05:00",
        true,
    ),
    o(
        "27001",
        "Tashkent region, Ohangaron",
        "UZAGN",
        "+05:00",
        false,
    ),
    o("18001", "Samarkand", "UZSKD", "+05:00", true),
    o("03001", "Andijan", "UZAZN", "+05:00", true),
    o("06001", "Bukhara", "UZBHK", "+05:00", true),
];

/// The codes of [`US_OFFICES`], for a node's `offices` configuration.
pub fn us_office_codes() -> Vec<String> {
    US_OFFICES.iter().map(|o| o.code.to_owned()).collect()
}

/// The codes of [`UZ_OFFICES`], for a node's `offices` configuration.
pub fn uz_office_codes() -> Vec<String> {
    UZ_OFFICES.iter().map(|o| o.code.to_owned()).collect()
}

/// Airlines: name, IATA airline prefix (for AWBs), nationality, hub country.
pub(crate) const AIRLINES: &[(&str, &str, &str, Option<&str>)] = &[
    ("Uzbekistan Airways", "250", "UZ", None),
    ("Turkish Cargo", "235", "TR", Some("TR")),
    ("Lufthansa Cargo", "020", "DE", Some("DE")),
    ("Qatar Airways Cargo", "157", "QA", Some("QA")),
    ("Silk Way West Airlines", "501", "AZ", Some("AZ")),
];

/// Ocean carriers: name, SCAC (for AMS bills of lading), vessel flag.
pub(crate) const OCEAN_CARRIERS: &[(&str, &str, &str)] = &[
    ("Mediterranean Shipping Company", "MEDU", "PA"),
    ("Maersk A/S", "MAEU", "DK"),
    ("CMA CGM", "CMDU", "MT"),
    ("Hapag-Lloyd AG", "HLCU", "LR"),
    ("COSCO Shipping Lines", "COSU", "HK"),
];

/// Inland carriers of the last leg: name, nationality, rail (true) or road.
pub(crate) const INLAND_CARRIERS: &[(&str, &str, bool)] = &[
    ("O'zbekiston temir yo'llari AJ", "UZ", true),
    ("KTZ Express JSC", "KZ", true),
    ("ADY Container LLC", "AZ", true),
    ("Trans Caspian Logistics MChJ", "UZ", false),
    ("Silk Road Trucking LLP", "KZ", false),
];

/// A surface route: routing countries between the US sea leg and Uzbekistan, the
/// transshipment port, and the UZ-side mode (2 rail, 3 road).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route {
    pub(crate) countries: &'static [&'static str],
    pub(crate) port: &'static str,
    pub(crate) uz_mode: &'static str,
    pub(crate) weight: f64,
}

/// Surface routes: the Middle Corridor through Poti (GE) and Baku (AZ) across the
/// Caspian, the northern route by rail through Russia and Kazakhstan, the China
/// land bridge, and road through Turkey and the Caucasus (Uzbekistan is doubly
/// landlocked, spec 7.4).
pub(crate) const ROUTES: &[Route] = &[
    Route {
        countries: &["GE", "AZ", "KZ"],
        port: "GEPTI",
        uz_mode: "2",
        weight: 4.0,
    },
    Route {
        countries: &["GE", "AZ", "TM"],
        port: "GEPTI",
        uz_mode: "2",
        weight: 2.0,
    },
    Route {
        countries: &["RU", "KZ"],
        port: "RULED",
        uz_mode: "2",
        weight: 1.5,
    },
    Route {
        countries: &["CN", "KZ"],
        port: "CNLYG",
        uz_mode: "2",
        weight: 1.5,
    },
    Route {
        countries: &["TR", "GE", "AZ", "KZ"],
        port: "TRMER",
        uz_mode: "3",
        weight: 1.0,
    },
];

/// US firm name parts (Latin).
pub(crate) const US_NAME_A: &[&str] = &[
    "Great Plains",
    "Pacific",
    "Atlantic",
    "Lone Star",
    "Midwest",
    "Summit",
    "Liberty",
    "Cascade",
    "Blue Ridge",
    "Golden Gate",
    "Prairie",
    "Allegheny",
    "Bayou",
    "Evergreen",
    "Keystone",
    "Red River",
];
pub(crate) const US_NAME_B: &[&str] = &[
    "Aerospace",
    "Machinery",
    "Agri Equipment",
    "Medical Supply",
    "Technologies",
    "Foods",
    "Poultry",
    "Grain",
    "Pharma",
    "Chemicals",
    "Motors",
    "Electronics",
    "Textiles Import",
    "Trading",
    "Metals",
];
pub(crate) const US_SUFFIX: &[&str] = &["Inc.", "LLC", "Corp.", "Co."];

/// US cities with a street pattern, ZIP and state.
pub(crate) const US_CITIES: &[(&str, &str, &str)] = &[
    ("New York", "10001", "NY"),
    ("Houston", "77002", "TX"),
    ("Chicago", "60601", "IL"),
    ("Dallas", "75201", "TX"),
    ("Los Angeles", "90012", "CA"),
    ("Seattle", "98101", "WA"),
    ("Wichita", "67202", "KS"),
    ("Atlanta", "30303", "GA"),
    ("Memphis", "38103", "TN"),
    ("Savannah", "31401", "GA"),
];
pub(crate) const US_STREETS: &[&str] = &[
    "Main St",
    "Commerce St",
    "Industrial Blvd",
    "Market St",
    "Harbor Dr",
    "Airport Rd",
];

/// Uzbek firm names: (Uzbek Latin stem, Russian stem). The declared name carries both
/// scripts, as Uzbek companies register them: `«Stem» MChJ / ООО «Стем»`.
pub(crate) const UZ_NAMES: &[(&str, &str)] = &[
    ("Toshkent To'qimachilik", "Ташкент Текстиль"),
    ("Samarqand Meva", "Самарканд Мева"),
    ("Farg'ona Paxta", "Фергана Пахта"),
    ("Buxoro Ipak", "Бухара Ипак"),
    ("Andijon Avto Savdo", "Андижан Авто Савдо"),
    ("Navoiy Metall", "Навои Металл"),
    ("Olmaliq Kimyo", "Алмалык Химия"),
    ("Chirchiq Agro", "Чирчик Агро"),
    ("Namangan Tekstil", "Наманган Текстиль"),
    ("Xorazm Savdo", "Хорезм Савдо"),
    ("Qarshi Don", "Карши Дон"),
    ("Zarafshon Oltin", "Зарафшан Олтин"),
    ("Sirdaryo Mashina", "Сырдарья Машина"),
    ("Termiz Logistika", "Термез Логистика"),
    ("Jizzax Farm", "Джизак Фарм"),
    ("Yangiyo'l Parranda", "Янгиюль Парранда"),
];
pub(crate) const UZ_QUALIFIERS: &[(&str, &str)] = &[
    ("", ""),
    (" Invest", " Инвест"),
    (" Group", " Групп"),
    (" Trade", " Трейд"),
    (" Servis", " Сервис"),
];

/// Uzbek cities: name, postcode, subdivision (ISO 3166-2), LOCODE.
pub(crate) const UZ_CITIES: &[(&str, &str, &str)] = &[
    ("Tashkent", "100000", "UZ-TK"),
    ("Samarkand", "140100", "UZ-SA"),
    ("Fergana", "150100", "UZ-FA"),
    ("Bukhara", "200100", "UZ-BU"),
    ("Andijan", "170100", "UZ-AN"),
    ("Navoi", "210100", "UZ-NW"),
    ("Namangan", "160100", "UZ-NG"),
    ("Chirchiq", "111700", "UZ-TO"),
];
pub(crate) const UZ_STREETS: &[&str] = &[
    "Amir Temur ko'chasi",
    "Navoiy ko'chasi",
    "Mustaqillik shoh ko'chasi",
    "Bobur ko'chasi",
    "Shota Rustaveli ko'chasi",
];
