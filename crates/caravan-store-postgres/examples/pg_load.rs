//! Load benchmark: ~100k goods items (33,334 declarations of 3 items) into PostgreSQL
//! through the batch API, three times, each into a fresh schema; prints items/s per run
//! and the median. Each run then loads another ~100k items in a second batch into the
//! now populated schema, by the same declarant: that batch cannot use the fresh-declarant
//! shortcut and pays one key lookup per declaration, the general case.
//!
//! ```text
//! export CARAVAN_TEST_PG_URL="$(.ci/pg-start.sh)"
//! cargo run --release -p caravan-store-postgres --example pg_load
//! ```
//!
//! Declarations are clones of one validated template with varying LRNs. Records are
//! prepared before the clock starts, so the figure is the store's alone. The document is
//! the draft's debug text (about the size of the canonical JSON; the canonical writer
//! lives in `caravan-ingest`, which this crate must not depend on).

use std::time::Instant;

use caravan_domain::declaration::draft::{
    AddressDraft, DeclarationDraft, EquipmentDraft, GoodsItemDraft, HeaderDraft, PartyDraft,
    TransportDraft,
};
use caravan_domain::declaration::model::Declaration;
use caravan_domain::declaration::validate::{Finding, Provenance, ValidationContext, validate};
use caravan_store::{DeclarationRecord, DeclarationStore, IngestSource};
use caravan_store_postgres::PgStore;
use sha2::{Digest, Sha256};

const DECLARATIONS: usize = 33_334;
const RUNS: usize = 3;

struct Prepared {
    declaration: Declaration,
    findings: Vec<Finding>,
    document: Vec<u8>,
    digest: [u8; 32],
}

fn template() -> DeclarationDraft {
    let party = |role: &str, id: Option<&str>, name: &str, country: &str| PartyDraft {
        role: role.to_owned(),
        id_scheme: id.map(|_| "OTHER".to_owned()),
        id: id.map(str::to_owned),
        name: Some(name.to_owned()),
        address: AddressDraft {
            country: Some(country.to_owned()),
            ..AddressDraft::default()
        },
        function_code: None,
    };
    let item = |n: u32, code: &str, description: &str| GoodsItemDraft {
        sequence: n.to_string(),
        commodity_code: Some(code.to_owned()),
        description: Some(description.to_owned()),
        origin_country: Some("UZ".to_owned()),
        gross_mass: Some("1200.5".to_owned()),
        net_mass: Some("1150".to_owned()),
        quantity: Some("100".to_owned()),
        quantity_unit: Some("NAR".to_owned()),
        item_price: Some("9000.25".to_owned()),
        customs_value: Some("9000.25".to_owned()),
        procedure: Some("4000".to_owned()),
        ..GoodsItemDraft::default()
    };
    DeclarationDraft {
        header: HeaderDraft {
            type_code: "IMA".to_owned(),
            function_code: "9".to_owned(),
            lrn: String::new(),
            issued_at: Some("2025-03-14T09:30:00+05:00".to_owned()),
            goods_item_count: Some("3".to_owned()),
            invoice_total: Some("27000.75".to_owned()),
            invoice_currency: Some("USD".to_owned()),
            ..HeaderDraft::default()
        },
        parties: vec![
            party(
                "DT",
                Some("US-DECLARANT-0001"),
                "Silk Road Brokers LLC",
                "US",
            ),
            party("IM", Some("US-IMPORTER-0042"), "Ocean Cotton Inc.", "US"),
            party("EX", None, "Tashkent Textile LLC", "UZ"),
        ],
        transport: TransportDraft {
            container_indicator: Some("1".to_owned()),
            equipment: vec![EquipmentDraft {
                container_id: "CSQU3054383".to_owned(),
                seals: Vec::new(),
            }],
            border_mode: Some("1".to_owned()),
            dispatch_country: Some("UZ".to_owned()),
            destination_country: Some("US".to_owned()),
            ..TransportDraft::default()
        },
        items: vec![
            item(1, "520812", "Unbleached plain cotton woven fabric"),
            item(2, "610910", "Cotton T-shirts, knitted"),
            item(3, "620342", "Men's cotton trousers"),
        ],
        outcome: None,
        amendments: Vec::new(),
    }
}

fn prepare(lrn_prefix: &str) -> Result<Vec<Prepared>, String> {
    let template = template();
    let ctx = ValidationContext::partner("US");
    (0..DECLARATIONS)
        .map(|n| {
            let mut draft = template.clone();
            draft.header.lrn = format!("{lrn_prefix}{n:06}");
            let validated = validate(&draft, &ctx).map_err(|rejected| {
                let errors: Vec<String> = rejected.errors().map(ToString::to_string).collect();
                format!("template rejected: {}", errors.join("; "))
            })?;
            let document = format!("{:?}", validated.declaration.to_draft()).into_bytes();
            let digest: [u8; 32] = Sha256::digest(&document).into();
            Ok(Prepared {
                declaration: validated.declaration,
                findings: validated.findings,
                document,
                digest,
            })
        })
        .collect()
}

fn run(
    url: &str,
    schema: &str,
    first: &[Prepared],
    second: &[Prepared],
) -> Result<(f64, f64), String> {
    let store = PgStore::connect_with_schema(url, schema).map_err(|e| e.to_string())?;
    let fresh = load(&store, schema, "fresh", first)?;
    let populated = load(&store, schema, "populated", second)?;
    Ok((fresh, populated))
}

fn load(store: &PgStore, schema: &str, label: &str, records: &[Prepared]) -> Result<f64, String> {
    let source = IngestSource {
        name: "pg_load".to_owned(),
        format: "caravan-json".to_owned(),
        provenance: Provenance::Partner,
    };
    let started = Instant::now();
    let mut batch = store.begin_ingest(&source).map_err(|e| e.to_string())?;
    for (n, p) in records.iter().enumerate() {
        let record = DeclarationRecord {
            declaration: &p.declaration,
            findings: &p.findings,
            document: &p.document,
            digest: p.digest,
            source_record: n as u64 + 1,
        };
        batch.put(&record).map_err(|e| e.to_string())?;
    }
    let summary = batch.commit().map_err(|e| e.to_string())?;
    let elapsed = started.elapsed().as_secs_f64();
    if summary.inserted != records.len() as u64 {
        return Err(format!(
            "inserted {} of {}",
            summary.inserted,
            records.len()
        ));
    }
    let rate = summary.items as f64 / elapsed;
    println!(
        "{schema} {label}: {} declarations, {} items in {elapsed:.2} s = {rate:.0} items/s ({:.0} declarations/s)",
        summary.inserted,
        summary.items,
        summary.inserted as f64 / elapsed
    );
    Ok(rate)
}

fn main() -> Result<(), String> {
    let url = std::env::var("CARAVAN_TEST_PG_URL")
        .map_err(|_| "set CARAVAN_TEST_PG_URL (see .ci/pg-start.sh)".to_owned())?;
    let first = prepare("LOAD-")?;
    let second = prepare("MORE-")?;
    let (mut fresh, mut populated) = (Vec::with_capacity(RUNS), Vec::with_capacity(RUNS));
    for run_no in 0..RUNS {
        let schema = format!("caravan_load_{}_{run_no}", std::process::id());
        let result = run(&url, &schema, &first, &second);
        if let Ok(mut client) = postgres::Client::connect(&url, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"));
        }
        let (a, b) = result?;
        fresh.push(a);
        populated.push(b);
    }
    fresh.sort_by(f64::total_cmp);
    populated.sort_by(f64::total_cmp);
    println!(
        "median of {RUNS}, fresh store:     {:.0} items/s",
        fresh[RUNS / 2]
    );
    println!(
        "median of {RUNS}, populated store: {:.0} items/s",
        populated[RUNS / 2]
    );
    Ok(())
}
