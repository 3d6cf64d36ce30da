//! The demo's stage for what mutual assistance sends beyond requests (issue 5, part A): after
//! the reference case, the US asks Uzbekistan two hit/no-hit questions, Uzbekistan sends one
//! bulk batch of its imports, and the US reports what the reference case led to — all over
//! the running exchange, through `caravan_assistance_node::wire_story::play`, the same
//! scenario the two-node test checks.
//!
//! Then each side re-marks an alert (`Marking.Change`: the provider loosens, the receiver
//! tightens a field) and sends its contact-point directory section (`Directory.Update`),
//! through `caravan_assistance_node::governance_story::play`.
//!
//! Why a stage of its own: it needs the reference case closed (the outcome is reported on
//! it) and the agreement in force, which the assistance stage leaves behind.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use caravan_assistance_node::runtime;
use caravan_assistance_node::service::{AssistanceNode, NodeConfig, today};
use caravan_assistance_node::story::{self, Officials};
use caravan_assistance_node::{governance_story, wire_story};
use caravan_exchange::node::Exchange;
use caravan_store::Store;
use caravan_store::assistance::CaseQuery;

/// Plays the scenario between the US (`[0]`) and UZ (`[1]`) nodes and prints it.
pub(crate) async fn stage(
    exchanges: &[Arc<Exchange>],
    stores: &[Arc<dyn Store>],
    dirs: [&Path; 2],
) -> anyhow::Result<()> {
    let mut nodes = Vec::new();
    for (i, us_side) in [(0, true), (1, false)] {
        let key = runtime::load_or_create_key(dirs[i]).context("open the evidence key")?;
        nodes.push(Arc::new(AssistanceNode::new(
            stores[i].clone(),
            Some(exchanges[i].clone()),
            NodeConfig::us_uz(us_side),
            key,
            runtime::evidence_dir(dirs[i]),
        )));
    }
    let main_case = stores[0]
        .case_rows(&CaseQuery {
            holder: Some("requester".into()),
            state: Some("closed".into()),
            ..CaseQuery::default()
        })?
        .into_iter()
        .next()
        .context("the reference case is not closed on the US node")?
        .case_id;
    let (us, uz) = (nodes[0].clone(), nodes[1].clone());
    let started = std::time::Instant::now();
    let case = main_case.clone();
    let out = tokio::task::spawn_blocking(move || {
        let t0 = caravan_web::auth::now_ms();
        wire_story::play(&us, &uz, &case, t0, &mut |now| {
            story::settle_over_exchange(
                [&us, &uz],
                now,
                Duration::from_millis(30),
                6,
                Duration::from_secs(120),
            )
        })
    })
    .await
    .context("assistance wire stage")?
    .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
    let (us, uz) = (&nodes[0], &nodes[1]);
    println!();
    println!(
        "Hit/no-hit, bulk exchange and outcome feedback (issue 5, part A), over the exchange in {:.1} s:",
        started.elapsed().as_secs_f64()
    );
    for (label, id) in [
        (&out.held_container, &out.hit_query),
        (&out.absent_container, &out.no_hit_query),
    ] {
        let q = us.store().hit_query_row(id)?;
        println!(
            "  query {id}: container {label} (purpose {}, case {}) → {}{}; commitment {}…",
            q.purpose.as_deref().unwrap_or("-"),
            q.case_reference,
            q.answer,
            q.handle
                .as_deref()
                .map(|h| format!(", follow-up handle {}…", &h[..16]))
                .unwrap_or_default(),
            &q.commitment[..16],
        );
    }
    for (what, code) in &out.refusals {
        println!("  refused: {what} ({code})");
    }
    let batch = us.store().bulk_batch_row(&out.batch)?;
    println!(
        "  bulk batch {} of uz-imports-v1, {}..{}: {} rows, batch SHA-256 {}…, stored by the US as partner imports (INTEL); re-sending it was recognised: {}",
        out.batch,
        out.period.0,
        out.period.1,
        batch.row_count,
        &batch.batch_sha256[..16],
        out.resend_recognised
    );
    println!(
        "      link on them: caravan mirror link --exports node --imports node (US node's data directory)"
    );
    let sup = Officials::of("UZ").supervisor;
    let report = uz
        .stats(&sup, today(out.ended_at))
        .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
    println!(
        "  outcome {} on {main_case} recorded by UZ: seizures {:?}, revenue (minor units) {:?}, cases opened {}, convictions {}",
        out.feedback,
        report.seizures_by_chapter,
        report.revenue_minor_by_currency,
        report.cases_opened,
        report.convictions
    );
    let us_report = us
        .stats(&Officials::of("US").supervisor, today(out.ended_at))
        .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
    println!(
        "  joint-committee volumes (US): {} hit/no-hit queries, hit rate {}‰, {} bulk batch(es) / {} rows received",
        us_report.exchange.hitnohit_asked,
        us_report
            .exchange
            .hit_rate_permille
            .map_or("-".to_owned(), |p| p.to_string()),
        us_report.exchange.bulk_batches_received,
        us_report.exchange.bulk_rows_received
    );

    // §9 Marking.Change and §1.8 Directory.Update, over the same exchange.
    let (a, b) = (nodes[0].clone(), nodes[1].clone());
    let started = std::time::Instant::now();
    let t0 = out.ended_at;
    let gov = tokio::task::spawn_blocking(move || {
        governance_story::play(&a, &b, t0, &mut |now| {
            story::settle_over_exchange(
                [&a, &b],
                now,
                Duration::from_millis(30),
                6,
                Duration::from_secs(120),
            )
        })
    })
    .await
    .context("governance stage")?
    .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
    println!();
    println!(
        "Marking.Change and Directory.Update, over the exchange in {:.1} s:",
        started.elapsed().as_secs_f64()
    );
    let show = |m: &Option<caravan_assistance::marking::Markings>| {
        m.as_ref().map_or_else(String::new, |m| {
            let caveats: Vec<&str> = m.caveats.iter().map(|c| c.as_str()).collect();
            format!("TLP:{} PAP:{} {}", m.tlp, m.pap, caveats.join(" "))
                .trim_end()
                .to_owned()
        })
    };
    println!(
        "  UZ alert {}: supplied {}, loosened by the UZ supervisor to {}; the US tightened field {} to {} and told UZ",
        gov.item,
        show(&gov.supplied),
        show(&gov.loosened),
        gov.tightened_field,
        show(&gov.tightened)
    );
    for node in [us, uz] {
        let rows = node.store().marking_rows(&gov.item)?;
        let last = |field: &str| {
            rows.iter()
                .filter(|r| r.field == field)
                .max_by_key(|r| r.seq)
                .map(|r| format!("TLP:{} PAP:{} (set by {})", r.tlp, r.pap, r.set_by))
                .unwrap_or_default()
        };
        println!(
            "    on {}: item {}; summary {}",
            node.config().party,
            last(""),
            last("summary")
        );
    }
    for (what, code) in &gov.refusals {
        println!("  refused: {what} ({code})");
    }
    for node in [us, uz] {
        let view = node
            .directory_view()
            .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
        println!(
            "  directory on {}: own section {} v{} ({} contact points), partner section {} v{} ({} contact points)",
            node.config().party,
            view.own.party,
            view.own.version,
            view.own.entries.len(),
            view.partner.party,
            view.partner.version,
            view.partner.entries.len()
        );
    }
    println!(
        "      new contact points: {}; see caravan directory show, or /ui/desk/directory",
        gov.new_contact_points.join(", ")
    );
    Ok(())
}
