//! Hand-built legs for tests that do not need the corridor generator.

use caravan_mirror::leg::{Flow, Leg, LegItem, LegRef, Mode};
use chrono::NaiveDate;

/// One goods line with the given code, net mass and value; gross mass 10 % above net.
pub(crate) fn item(hs6: &str, net: f64, value: f64, currency: &str) -> LegItem {
    LegItem {
        sequence: 1,
        hs6: Some(hs6.into()),
        origin: Some("US".into()),
        net_mass: Some(net),
        gross_mass: Some(net * 1.1),
        quantity: Some((10.0, "NAR".into())),
        packages: Some(2),
        value: Some(value),
        customs_value: None,
        currency: Some(currency.into()),
        duty: None,
    }
}

/// A leg with one item, no references and the given parties.
pub(crate) fn leg(
    reporter: &str,
    flow: Flow,
    lrn: String,
    date: NaiveDate,
    mode: Mode,
    parties: (&str, &str),
    item: LegItem,
) -> Leg {
    Leg {
        reference: LegRef {
            reporter: reporter.into(),
            declarant: String::new(),
            lrn,
        },
        mrn: None,
        flow,
        partner: None,
        date: Some(date),
        accepted: Some(date),
        mode,
        ucr: None,
        transport_docs: Vec::new(),
        containers: Vec::new(),
        invoice: None,
        previous_docs: Vec::new(),
        exporter_name: Some(parties.0.into()),
        importer_name: Some(parties.1.into()),
        consignee_name: Some(parties.1.into()),
        routing: Vec::new(),
        dispatch: None,
        destination: None,
        freight: None,
        items: vec![item],
    }
}
