//! [`LogStore`] on SQLite: the transparency log in the node's one database file.
//!
//! Why it is shaped this way: an index may be acknowledged (and later proven to a
//! partner) only once its entry, its leaf hash and every node hash it completes are
//! durable together. So an append is one `BEGIN IMMEDIATE` transaction that checks the
//! stored size (the compare-and-set that keeps two appenders from interleaving), inserts
//! entries and nodes, moves `logs.size` and commits; with WAL and `synchronous = FULL`
//! the commit is fsynced before `append` returns. Statements are prepared once and cached
//! on the connection; node reads for a proof run inside one read transaction, so a proof
//! never mixes two states of the tree.
//!
//! Level-0 nodes are the `leaf_hash` column of `log_entries`; `log_nodes` holds levels
//! 1 and up, so each hash is stored once.

use caravan_store::log::columns::{self, hash, int, uint};
use caravan_store::log::{
    Alarm, Appended, Hash, LogBatch, LogHead, LogStore, NodeAddr, StoredCheckpoint, Witnessed,
    check_append,
};
use caravan_store::{Conflict, StoreError};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::{SqliteStore, other};

/// The stored size of `origin`, or `NotFound`.
fn stored_size(conn: &Connection, origin: &str) -> Result<u64, StoreError> {
    let size: Option<i64> = conn
        .prepare_cached("SELECT size FROM logs WHERE origin = ?1")
        .and_then(|mut s| s.query_row([origin], |r| r.get(0)).optional())
        .map_err(other("read log size"))?;
    uint(size.ok_or(StoreError::NotFound)?, "log size")
}

/// The writes of an append inside the caller's transaction.
fn append_in(
    tx: &Connection,
    origin: &str,
    expected_size: u64,
    entries: &[Vec<u8>],
    leaf_hashes: &[Hash],
    nodes: &[(NodeAddr, Hash)],
) -> Result<Appended, StoreError> {
    let upper = check_append(expected_size, entries, leaf_hashes, nodes)?;
    let new_size = expected_size
        .checked_add(entries.len() as u64)
        .ok_or_else(|| StoreError::Other("log size overflows".into()))?;
    let first = int(expected_size, "log size")?;
    let new_size_i = int(new_size, "log size")?;
    let stored = stored_size(tx, origin)?;
    if stored != expected_size {
        return Err(StoreError::Conflict(Conflict::LogSize {
            origin: origin.to_owned(),
            expected: expected_size,
            stored,
        }));
    }
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO log_entries (origin, idx, entry, leaf_hash) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(other("prepare entry insert"))?;
        for (k, (entry, leaf)) in entries.iter().zip(leaf_hashes).enumerate() {
            insert
                .execute(params![origin, first + k as i64, entry, &leaf[..]])
                .map_err(other("insert log entry"))?;
        }
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO log_nodes (origin, level, idx, hash) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(other("prepare node insert"))?;
        for (addr, h) in upper {
            insert
                .execute(params![
                    origin,
                    addr.level,
                    int(addr.index, "node index")?,
                    &h[..]
                ])
                .map_err(other("insert log node"))?;
        }
        tx.prepare_cached("UPDATE logs SET size = ?2 WHERE origin = ?1")
            .and_then(|mut s| s.execute(params![origin, new_size_i]))
            .map_err(other("update log size"))?;
    }
    Ok(Appended {
        first_index: expected_size,
        size: new_size,
    })
}

/// The checks and write of a checkpoint save inside the caller's transaction.
fn save_checkpoint_in(
    tx: &Connection,
    origin: &str,
    checkpoint: &StoredCheckpoint,
) -> Result<(), StoreError> {
    let checkpoint_size = int(checkpoint.size, "checkpoint size")?;
    let row: Option<(i64, Option<i64>, Option<Vec<u8>>)> = tx
        .prepare_cached("SELECT size, checkpoint_size, checkpoint_root FROM logs WHERE origin = ?1")
        .and_then(|mut s| {
            s.query_row([origin], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
        })
        .map_err(other("read checkpoint"))?;
    let (log_size, stored_size, stored_root) = row.ok_or(StoreError::NotFound)?;
    let log_size = uint(log_size, "log size")?;
    let stored_size = stored_size
        .map(|s| uint(s, "checkpoint size"))
        .transpose()?;
    let acceptable = checkpoint.size <= log_size
        && match stored_size {
            None => true,
            Some(s) if s < checkpoint.size => true,
            Some(s) => s == checkpoint.size && stored_root.as_deref() == Some(&checkpoint.root[..]),
        };
    if !acceptable {
        return Err(StoreError::Conflict(Conflict::CheckpointRejected {
            origin: origin.to_owned(),
            offered: checkpoint.size,
            checkpoint: stored_size.unwrap_or(0),
            log_size,
        }));
    }
    tx.prepare_cached(
        "UPDATE logs SET checkpoint_size = ?2, checkpoint_root = ?3, checkpoint_note = ?4
         WHERE origin = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            origin,
            checkpoint_size,
            &checkpoint.root[..],
            checkpoint.note
        ])
    })
    .map_err(other("save checkpoint"))?;
    Ok(())
}

/// A prepared log append (and its checkpoint, if any) inside the caller's transaction.
pub(crate) fn append_batch_in(tx: &Connection, log: &LogBatch<'_>) -> Result<Appended, StoreError> {
    let appended = append_in(
        tx,
        log.origin,
        log.expected_size,
        log.entries,
        log.leaf_hashes,
        log.nodes,
    )?;
    if let Some(checkpoint) = log.checkpoint {
        save_checkpoint_in(tx, log.origin, checkpoint)?;
    }
    Ok(appended)
}

impl LogStore for SqliteStore {
    fn open_log(&self, origin: &str) -> Result<LogHead, StoreError> {
        let conn = self.lock()?;
        conn.prepare_cached(
            "INSERT INTO logs (origin) VALUES (?1) ON CONFLICT (origin) DO NOTHING",
        )
        .and_then(|mut s| s.execute([origin]))
        .map_err(other("create log"))?;
        let (size, cp_size, cp_root, cp_note) = conn
            .prepare_cached(
                "SELECT size, checkpoint_size, checkpoint_root, checkpoint_note
                 FROM logs WHERE origin = ?1",
            )
            .and_then(|mut s| {
                s.query_row([origin], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, Option<Vec<u8>>>(2)?,
                        r.get::<_, Option<Vec<u8>>>(3)?,
                    ))
                })
            })
            .map_err(other("read log head"))?;
        let checkpoint = columns::checkpoint(cp_size, cp_root, cp_note)?;
        Ok(LogHead {
            size: uint(size, "log size")?,
            checkpoint,
        })
    }

    fn append(
        &self,
        origin: &str,
        expected_size: u64,
        entries: &[Vec<u8>],
        leaf_hashes: &[Hash],
        nodes: &[(NodeAddr, Hash)],
    ) -> Result<Appended, StoreError> {
        let mut conn = self.lock()?;
        // Dropping the transaction on any error below rolls it back: nothing is written.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin log append"))?;
        let appended = append_in(&tx, origin, expected_size, entries, leaf_hashes, nodes)?;
        tx.commit().map_err(other("commit log append"))?;
        Ok(appended)
    }

    fn append_checkpointed(
        &self,
        origin: &str,
        expected_size: u64,
        entries: &[Vec<u8>],
        leaf_hashes: &[Hash],
        nodes: &[(NodeAddr, Hash)],
        checkpoint: &StoredCheckpoint,
    ) -> Result<Appended, StoreError> {
        let mut conn = self.lock()?;
        // One transaction, one fsync: the batch and the checkpoint covering it.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin log append"))?;
        let appended = append_in(&tx, origin, expected_size, entries, leaf_hashes, nodes)?;
        save_checkpoint_in(&tx, origin, checkpoint)?;
        tx.commit().map_err(other("commit log append"))?;
        Ok(appended)
    }

    fn nodes(&self, origin: &str, addrs: &[NodeAddr]) -> Result<Vec<Hash>, StoreError> {
        let mut conn = self.lock()?;
        // One read transaction: every hash comes from the same state of the tree.
        let tx = conn.transaction().map_err(other("begin node read"))?;
        let mut out = Vec::with_capacity(addrs.len());
        {
            let mut leaf = tx
                .prepare_cached("SELECT leaf_hash FROM log_entries WHERE origin = ?1 AND idx = ?2")
                .map_err(other("prepare leaf hash read"))?;
            let mut node = tx
                .prepare_cached(
                    "SELECT hash FROM log_nodes WHERE origin = ?1 AND level = ?2 AND idx = ?3",
                )
                .map_err(other("prepare node read"))?;
            for addr in addrs {
                let Ok(index) = i64::try_from(addr.index) else {
                    return Err(StoreError::NotFound);
                };
                let found: Option<Vec<u8>> = if addr.level == 0 {
                    leaf.query_row(params![origin, index], |r| r.get(0))
                } else {
                    node.query_row(params![origin, addr.level, index], |r| r.get(0))
                }
                .optional()
                .map_err(other("read node hash"))?;
                out.push(hash(found.ok_or(StoreError::NotFound)?, "node hash")?);
            }
        }
        tx.commit().map_err(other("end node read"))?;
        Ok(out)
    }

    fn entries(&self, origin: &str, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction().map_err(other("begin entry read"))?;
        stored_size(&tx, origin)?;
        let (Ok(lo), hi) = (i64::try_from(start), start.saturating_add(count)) else {
            return Ok(Vec::new());
        };
        let hi = i64::try_from(hi).unwrap_or(i64::MAX);
        let entries = tx
            .prepare_cached(
                "SELECT entry FROM log_entries WHERE origin = ?1 AND idx >= ?2 AND idx < ?3
                 ORDER BY idx",
            )
            .and_then(|mut s| {
                s.query_map(params![origin, lo, hi], |r| r.get(0))?
                    .collect::<Result<Vec<Vec<u8>>, _>>()
            })
            .map_err(other("read log entries"))?;
        tx.commit().map_err(other("end entry read"))?;
        Ok(entries)
    }

    fn save_checkpoint(
        &self,
        origin: &str,
        checkpoint: &StoredCheckpoint,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin checkpoint save"))?;
        save_checkpoint_in(&tx, origin, checkpoint)?;
        tx.commit().map_err(other("commit checkpoint"))
    }

    fn witnessed(&self, origin: &str) -> Result<Option<Witnessed>, StoreError> {
        let conn = self.lock()?;
        let row: Option<(i64, Vec<u8>)> = conn
            .prepare_cached("SELECT size, root FROM witnessed WHERE origin = ?1")
            .and_then(|mut s| {
                s.query_row([origin], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(other("read witnessed state"))?;
        row.map(|(size, root)| {
            Ok(Witnessed {
                origin: origin.to_owned(),
                size: uint(size, "witnessed size")?,
                root: hash(root, "witnessed root")?,
            })
        })
        .transpose()
    }

    fn record_witnessed(&self, expected_size: u64, next: &Witnessed) -> Result<(), StoreError> {
        let size = int(next.size, "witnessed size")?;
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin witness update"))?;
        let stored: Option<i64> = tx
            .prepare_cached("SELECT size FROM witnessed WHERE origin = ?1")
            .and_then(|mut s| s.query_row([&next.origin], |r| r.get(0)).optional())
            .map_err(other("read witnessed state"))?;
        let stored = stored.map(|s| uint(s, "witnessed size")).transpose()?;
        if stored.unwrap_or(0) != expected_size {
            return Err(StoreError::Conflict(Conflict::WitnessMoved {
                origin: next.origin.clone(),
                expected: expected_size,
                stored: stored.unwrap_or(0),
            }));
        }
        tx.prepare_cached(
            "INSERT INTO witnessed (origin, size, root) VALUES (?1, ?2, ?3)
             ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        )
        .and_then(|mut s| s.execute(params![next.origin, size, &next.root[..]]))
        .map_err(other("record witnessed state"))?;
        tx.commit().map_err(other("commit witness update"))
    }

    fn raise_alarm(&self, kind: &str, origin: &str, detail: &str) -> Result<i64, StoreError> {
        let conn = self.lock()?;
        conn.prepare_cached("INSERT INTO alarms (kind, origin, detail) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![kind, origin, detail]))
            .map_err(other("raise alarm"))?;
        Ok(conn.last_insert_rowid())
    }

    fn alarms(&self) -> Result<Vec<Alarm>, StoreError> {
        let conn = self.lock()?;
        conn.prepare_cached(
            "SELECT id, kind, origin, detail, raised_at FROM alarms ORDER BY id DESC",
        )
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(Alarm {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    origin: r.get(2)?,
                    detail: r.get(3)?,
                    raised_at: r.get(4)?,
                })
            })?
            .collect()
        })
        .map_err(other("read alarms"))
    }
}
