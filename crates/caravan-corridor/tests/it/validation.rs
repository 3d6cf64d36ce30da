//! Every generated draft passes local validation at its own node; injected defects only
//! ever produce warnings.

use caravan_corridor::{CorridorConfig, Side, shipments, us_office_codes, uz_office_codes};
use caravan_domain::declaration::validate::{ValidationContext, validate};
use proptest::prelude::*;

fn context(side: Side) -> ValidationContext {
    let mut ctx = ValidationContext::local(side.country());
    ctx.offices = match side {
        Side::Us => us_office_codes(),
        Side::Uz => uz_office_codes(),
    };
    ctx
}

fn check(config: &CorridorConfig) -> usize {
    let (us, uz) = (context(Side::Us), context(Side::Uz));
    let mut warnings = 0;
    for s in shipments(config) {
        for (ctx, d) in
            s.us.iter()
                .map(|d| (&us, d))
                .chain(s.uz.iter().map(|d| (&uz, d)))
        {
            match validate(d, ctx) {
                Ok(v) => warnings += v.findings.len(),
                Err(rejected) => panic!(
                    "{} rejected at {}: {:#?}\n{d:#?}",
                    d.header.lrn, ctx.node_country, rejected.findings
                ),
            }
            let partner =
                ValidationContext::partner(if ctx.node_country == "US" { "UZ" } else { "US" });
            assert!(
                validate(d, &partner).is_ok(),
                "{} rejected as partner data",
                d.header.lrn
            );
        }
    }
    warnings
}

#[test]
fn defaults_validate_and_defects_warn() {
    let warnings = check(&CorridorConfig {
        defect_rate: 0.3,
        ..CorridorConfig::with(11, 400)
    });
    assert!(warnings > 0, "defects should produce warnings");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
    #[test]
    fn any_seed_validates_locally(seed in any::<u64>()) {
        check(&CorridorConfig { anomaly_rate: 0.5, defect_rate: 0.2, watchlist_rate: 0.2, ..CorridorConfig::with(seed, 40) });
    }
}

#[test]
fn every_difficulty_level_validates() {
    for level in caravan_corridor::Difficulty::ALL {
        check(&level.apply(CorridorConfig {
            anomaly_rate: 0.3,
            ..CorridorConfig::with(5, 150)
        }));
    }
}
