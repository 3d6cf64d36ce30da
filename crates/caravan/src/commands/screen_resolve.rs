//! Entity resolution over the node's own declarations: `caravan screen resolve-stored` and
//! `caravan screen clusters`.
//!
//! Why replay instead of a stored model: the resolver's promise is that cluster ids stay
//! stable as new data arrives (records join clusters, clusters may merge, never split or
//! renumber). That holds only if each new batch meets exactly the resolver that produced the
//! stored clusters. The store keeps every record with the batch that first saw it, so the
//! node rebuilds the resolver by replaying the batches in order (the model is re-estimated
//! on batch 0, deterministically), checks that the replay reproduces every stored cluster,
//! and only then adds the declarations that arrived since as the next batch. A replay that
//! disagrees (a changed scorer, an edited row) is refused with `resolution_replay_mismatch`
//! rather than silently renumbering parties an analyst already knows by their ids.
//!
//! A record is one distinct party as declared — name, country and identifier — whatever its
//! role, so the same company as exporter and as consignee is one record.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use caravan_domain::id::{PartyIdScheme, check_party_id};
use caravan_screen::model::{Identifier, hex};
use caravan_screen::normalize::normalize_name;
use caravan_screen::resolve::{ClusterId, PartyRecord, ResolveConfig, Resolver};
use caravan_store::Store;
use caravan_store::screen::{ResolutionBatch, ResolutionMergeRow, ResolutionRecordRow};
use sha2::{Digest, Sha256};

use super::screen_store::{audit, now, operator};
use crate::backend::open_store;
use crate::cli::{ScreenClustersArgs, ScreenResolveStoredArgs};

/// What one resolution batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolveReport {
    /// The batch number recorded, `None` when no new party had arrived.
    pub batch: Option<u32>,
    /// Records added by this batch.
    pub added: usize,
    /// Records known before it.
    pub known: usize,
    /// Clusters after it.
    pub clusters: usize,
    /// Clusters with more than one record after it.
    pub multi: usize,
    /// Older clusters it merged.
    pub merges: usize,
}

/// The record id of a party's facts: stable, and the same in every backend.
fn record_id(
    name: &str,
    country: Option<&str>,
    scheme: Option<&str>,
    value: Option<&str>,
) -> String {
    let mut hasher = Sha256::new();
    for field in [Some(name), country, scheme, value] {
        match field {
            Some(text) => {
                hasher.update([1]);
                hasher.update((text.len() as u64).to_be_bytes());
                hasher.update(text.as_bytes());
            }
            None => hasher.update([0]),
        }
    }
    format!("P{}", &hex(&hasher.finalize())[..16])
}

/// The resolver's view of a stored record. Only a valid identifier of a checked scheme is
/// kept (as in `PartyRecord::from_declared`): a typo in an unchecked number must not veto a
/// cluster.
fn party_record(row: &ResolutionRecordRow) -> PartyRecord {
    let identifiers = match (row.id_scheme.as_deref(), row.id_value.as_deref()) {
        (Some(scheme), Some(value)) => PartyIdScheme::parse(scheme)
            .ok()
            .filter(|s| *s != PartyIdScheme::Other)
            .and_then(|s| {
                let checked: String = check_party_id(s, value).ok()?;
                Identifier::new(s.as_str(), &checked, None)
            })
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    PartyRecord {
        record_id: row.record_id.clone(),
        name: row.name.clone(),
        country: row.country.clone(),
        identifiers,
        address: None,
    }
}

/// Rebuilds the resolver from the stored batches and checks it reproduces them.
fn replay(
    stored: &[ResolutionRecordRow],
    config: &ResolveConfig,
) -> anyhow::Result<Option<Resolver>> {
    let mut batches: BTreeMap<u32, Vec<PartyRecord>> = BTreeMap::new();
    for row in stored {
        batches
            .entry(row.batch)
            .or_default()
            .push(party_record(row));
    }
    let mut resolver: Option<Resolver> = None;
    for (expected, (batch, records)) in batches.into_iter().enumerate() {
        if batch as usize != expected {
            bail!(
                "resolution_replay_mismatch: stored batch {batch} follows batch {}",
                expected.saturating_sub(1)
            );
        }
        match resolver.as_mut() {
            None => resolver = Some(Resolver::resolve(&records, config.clone())?),
            Some(r) => r.add_batch(&records)?,
        }
    }
    if let Some(r) = &resolver {
        for row in stored {
            if r.cluster_of(&row.record_id) != Some(ClusterId(row.cluster_id)) {
                bail!(
                    "resolution_replay_mismatch: record {} is stored in cluster {} but the replay puts it in {:?}; \
                     the scorer or the stored rows changed since it was resolved",
                    row.record_id,
                    ClusterId(row.cluster_id),
                    r.cluster_of(&row.record_id).map(|c| c.to_string())
                );
            }
        }
    }
    Ok(resolver)
}

/// Adds the parties of declarations stored since the last batch as the next resolution
/// batch, in one store transaction.
pub(crate) fn resolve_stored(store: &dyn Store, at: u64) -> anyhow::Result<ResolveReport> {
    let config = ResolveConfig::default();
    let stored = store.screen_resolution_records()?;
    let mut resolver = replay(&stored, &config)?;
    let known_ids: HashMap<&str, u32> = stored
        .iter()
        .map(|r| (r.record_id.as_str(), r.cluster_id))
        .collect();
    let mut fresh: BTreeMap<String, ResolutionRecordRow> = BTreeMap::new();
    let batch = stored.iter().map(|r| r.batch + 1).max().unwrap_or(0);
    for party in store.screen_declared_parties()? {
        let id = record_id(
            &party.name,
            party.country.as_deref(),
            party.id_scheme.as_deref(),
            party.id_value.as_deref(),
        );
        if known_ids.contains_key(id.as_str()) || fresh.contains_key(&id) {
            continue;
        }
        let row = ResolutionRecordRow {
            record_id: id.clone(),
            batch,
            name: party.name,
            country: party.country,
            id_scheme: party.id_scheme,
            id_value: party.id_value,
            cluster_id: 0,
        };
        // A name the normaliser cannot use (only punctuation) cannot be resolved; it stays
        // out rather than failing the batch for everyone else.
        if normalize_name(&row.name, true).is_err() {
            continue;
        }
        fresh.insert(id, row);
    }
    let count = |r: &Resolver| {
        let clusters = r.clusters();
        (
            clusters.len(),
            clusters.values().filter(|m| m.len() > 1).count(),
        )
    };
    if fresh.is_empty() {
        let (clusters, multi) = resolver.as_ref().map_or((0, 0), count);
        return Ok(ResolveReport {
            batch: None,
            added: 0,
            known: stored.len(),
            clusters,
            multi,
            merges: 0,
        });
    }
    let records: Vec<PartyRecord> = fresh.values().map(party_record).collect();
    let merges_before = resolver.as_ref().map_or(0, |r| r.merges().len());
    let resolver = match resolver.as_mut() {
        Some(r) => {
            r.add_batch(&records)?;
            r
        }
        None => resolver.insert(Resolver::resolve(&records, config)?),
    };
    let assigned: HashMap<String, ClusterId> = resolver.assignments().into_iter().collect();
    let cluster = |id: &str| -> anyhow::Result<u32> {
        Ok(assigned
            .get(id)
            .with_context(|| format!("record {id} vanished from the resolver"))?
            .0)
    };
    let mut new_rows = Vec::with_capacity(fresh.len());
    for (id, mut row) in fresh {
        row.cluster_id = cluster(&id)?;
        new_rows.push(row);
    }
    let mut reassigned = Vec::new();
    for (id, &old) in &known_ids {
        let now = cluster(id)?;
        if now != old {
            reassigned.push(((*id).to_owned(), now));
        }
    }
    reassigned.sort();
    let merges: Vec<ResolutionMergeRow> = resolver.merges()[merges_before..]
        .iter()
        .map(|m| ResolutionMergeRow {
            batch,
            kept: m.kept.0,
            absorbed: m.absorbed.0,
            via: m.via.clone(),
            weight: m.weight,
        })
        .collect();
    let (clusters, multi) = count(resolver);
    let model = resolver.model();
    let model_json = serde_json::json!({
        "m": model.m,
        "u": model.u,
        "prior": model.prior,
    })
    .to_string();
    let report = ResolveReport {
        batch: Some(batch),
        added: new_rows.len(),
        known: stored.len(),
        clusters,
        multi,
        merges: merges.len(),
    };
    store.screen_record_resolution(&ResolutionBatch {
        batch,
        resolved_at: at,
        records: new_rows,
        reassigned,
        merges,
        n_clusters: clusters as u64,
        model: model_json,
    })?;
    Ok(report)
}

/// `caravan screen resolve-stored`.
pub(super) fn resolve_command(
    config: Option<&Path>,
    _args: &ScreenResolveStoredArgs,
) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config)?;
    let store = open_store(&config.store)?;
    let report = resolve_stored(store.as_ref(), now())?;
    match report.batch {
        Some(batch) => println!(
            "resolution batch {batch}: {} new parties, {} known; {} entities, {} with several spellings or identifiers; {} merges of earlier entities",
            report.added, report.known, report.clusters, report.multi, report.merges
        ),
        None => println!(
            "no new party since the last batch; {} parties in {} entities",
            report.known, report.clusters
        ),
    }
    audit(
        store.as_ref(),
        &operator(),
        "screen.resolve",
        &report
            .batch
            .map_or("none".to_owned(), |b| format!("batch-{b}")),
        serde_json::json!({
            "added": report.added,
            "clusters": report.clusters,
            "merges": report.merges,
        }),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Parses `E00000012` or `12`.
pub(crate) fn parse_cluster_id(text: &str) -> Option<u32> {
    let digits = text.strip_prefix('E').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `caravan screen clusters`: the entities with several records, or one entity.
pub(super) fn clusters_command(
    config: Option<&Path>,
    args: &ScreenClustersArgs,
) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config)?;
    let store = open_store(&config.store)?;
    let mut groups: BTreeMap<u32, Vec<ResolutionRecordRow>> = BTreeMap::new();
    match &args.id {
        Some(text) => {
            let Some(id) = parse_cluster_id(text) else {
                bail!("--id {text}: expected an entity id such as E00000012");
            };
            let rows = store.screen_cluster(id)?;
            if rows.is_empty() {
                bail!(
                    "entity {} is unknown or was merged into another",
                    ClusterId(id)
                );
            }
            groups.insert(id, rows);
        }
        None => {
            for row in store.screen_resolution_records()? {
                groups.entry(row.cluster_id).or_default().push(row);
            }
            groups.retain(|_, rows| rows.len() >= args.min_size);
        }
    }
    let mut shown = 0usize;
    for (id, rows) in groups.iter().take(args.limit) {
        println!("{} ({} records)", ClusterId(*id), rows.len());
        for row in rows {
            let identifier = match (&row.id_scheme, &row.id_value) {
                (Some(s), Some(v)) => format!(" {s}:{v}"),
                _ => String::new(),
            };
            println!(
                "  {}  {}{}{}",
                row.record_id,
                row.name,
                row.country
                    .as_deref()
                    .map(|c| format!(" [{c}]"))
                    .unwrap_or_default(),
                identifier
            );
        }
        shown += 1;
    }
    if shown == 0 {
        println!("no entity with at least {} records", args.min_size);
    }
    let merges = store.screen_resolution_merges()?;
    for m in merges.iter().filter(|m| groups.contains_key(&m.kept)) {
        println!(
            "merge in batch {}: {} absorbed {} via {} ~ {} ({:.1} bits)",
            m.batch,
            ClusterId(m.kept),
            ClusterId(m.absorbed),
            m.via.0,
            m.via.1,
            m.weight
        );
    }
    audit(
        store.as_ref(),
        &operator(),
        "screen.clusters.view",
        args.id.as_deref().unwrap_or("all"),
        serde_json::json!({ "entities": shown }),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The demo's step: resolve each node's stored parties and show one entity that gathers
/// several spellings or identifiers.
pub(super) fn demo_stage(
    stores: &[std::sync::Arc<dyn Store>],
    names: &[&str],
) -> anyhow::Result<()> {
    for (store, node) in stores.iter().zip(names) {
        let store = store.as_ref();
        let report = resolve_stored(store, now())?;
        println!(
            "  entity resolution {node}: {} distinct declared parties in {} entities, {} of them \
             seen under several spellings or identifiers",
            report.added + report.known,
            report.clusters,
            report.multi
        );
        let mut groups: BTreeMap<u32, Vec<ResolutionRecordRow>> = BTreeMap::new();
        for row in store.screen_resolution_records()? {
            groups.entry(row.cluster_id).or_default().push(row);
        }
        // The entity with the most distinct spellings, then the most records: what an
        // analyst would open first.
        let spellings = |rows: &[ResolutionRecordRow]| {
            let mut names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            names.len()
        };
        if let Some((id, rows)) = groups
            .iter()
            .filter(|(_, rows)| rows.len() > 1)
            .max_by_key(|(id, rows)| (spellings(rows), rows.len(), std::cmp::Reverse(**id)))
        {
            let shown: Vec<String> = rows
                .iter()
                .take(4)
                .map(|r| {
                    let id = match (&r.id_scheme, &r.id_value) {
                        (Some(s), Some(v)) => format!(" {s}:{v}"),
                        _ => " (no identifier)".to_owned(),
                    };
                    format!("{:?} [{}]{id}", r.name, r.country.as_deref().unwrap_or("-"))
                })
                .collect();
            println!(
                "    {} gathers {} records: {}",
                ClusterId(*id),
                rows.len(),
                shown.join("; ")
            );
        }
        let again = resolve_stored(store, now())?;
        if again.batch.is_some() || again.clusters != report.clusters {
            bail!("{node}: a second resolution with no new declaration changed the entities");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_separate_every_field() {
        let a = record_id("Acme", Some("UZ"), None, None);
        assert_eq!(a, record_id("Acme", Some("UZ"), None, None));
        assert_ne!(a, record_id("Acme", None, Some("UZ"), None));
        assert_ne!(a, record_id("AcmeUZ", None, None, None));
        assert_eq!(a.len(), 17);
    }

    #[test]
    fn cluster_ids_parse_in_both_spellings() {
        assert_eq!(parse_cluster_id("E00000012"), Some(12));
        assert_eq!(parse_cluster_id("7"), Some(7));
        assert_eq!(parse_cluster_id("E"), None);
        assert_eq!(parse_cluster_id("E-1"), None);
        assert_eq!(parse_cluster_id("E99999999999"), None);
    }

    #[test]
    fn only_checked_identifiers_reach_the_resolver() {
        let row = |scheme: &str, value: &str| ResolutionRecordRow {
            record_id: "P1".into(),
            batch: 0,
            name: "Acme".into(),
            country: Some("UZ".into()),
            id_scheme: Some(scheme.into()),
            id_value: Some(value.into()),
            cluster_id: 0,
        };
        assert_eq!(party_record(&row("OTHER", "123")).identifiers.len(), 0);
        assert_eq!(
            party_record(&row("UZ_STIR", "not a stir"))
                .identifiers
                .len(),
            0
        );
        assert_eq!(
            party_record(&row("US_EIN", "12-3456789")).identifiers.len(),
            1
        );
    }
}
