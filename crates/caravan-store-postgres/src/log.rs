//! [`LogStore`] on PostgreSQL, behaving exactly like the SQLite reference.
//!
//! Why it is shaped this way: an index may be acknowledged only once its entry, leaf hash
//! and every node hash it completes are committed together, so an append is one
//! transaction. `SELECT ... FOR UPDATE` on the log's `logs` row is the compare-and-set on
//! the size: a second appender of the same origin, in this process or another, waits for
//! the first to commit and then sees the new size, so it gets a conflict instead of
//! interleaving. Rows go in with one `INSERT ... SELECT FROM unnest(...)` per table, one
//! round trip each whatever the batch size (COPY would need a round trip to open and one
//! to finish, and brings nothing at 256 rows). With the default `synchronous_commit`, the
//! commit is flushed to the WAL before `append` returns. Node reads for a proof are one
//! statement, so one snapshot.
//!
//! Level-0 nodes are the `leaf_hash` column of `log_entries`; `log_nodes` holds levels
//! 1 and up, so each hash is stored once.

use caravan_store::log::columns::{self, hash, int, uint};
use caravan_store::log::{
    Alarm, Appended, Hash, LogBatch, LogHead, LogStore, NodeAddr, StoredCheckpoint, Witnessed,
    check_append,
};
use caravan_store::{Conflict, StoreError};
use postgres::GenericClient;

use crate::{PgStore, other};

/// Whether the log `origin` exists.
fn log_exists(conn: &mut impl GenericClient, origin: &str) -> Result<bool, StoreError> {
    conn.query_opt("SELECT 1 FROM logs WHERE origin = $1", &[&origin])
        .map(|row| row.is_some())
        .map_err(other("look up log"))
}

/// The writes of an append inside the caller's transaction.
fn append_in(
    tx: &mut impl GenericClient,
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
    let idx: Vec<i64> = (first..new_size_i).collect();
    let entry_bytes: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    let leaves: Vec<&[u8]> = leaf_hashes.iter().map(|h| &h[..]).collect();
    let levels: Vec<i16> = upper.iter().map(|(a, _)| i16::from(a.level)).collect();
    let node_idx: Vec<i64> = upper
        .iter()
        .map(|(a, _)| int(a.index, "node index"))
        .collect::<Result<_, _>>()?;
    let node_hashes: Vec<&[u8]> = upper.iter().map(|(_, h)| &h[..]).collect();

    let stored: Option<i64> = tx
        .query_opt(
            "SELECT size FROM logs WHERE origin = $1 FOR UPDATE",
            &[&origin],
        )
        .map_err(other("lock log"))?
        .map(|row| row.try_get(0))
        .transpose()
        .map_err(other("read log size"))?;
    let stored = uint(stored.ok_or(StoreError::NotFound)?, "log size")?;
    if stored != expected_size {
        return Err(StoreError::Conflict(Conflict::LogSize {
            origin: origin.to_owned(),
            expected: expected_size,
            stored,
        }));
    }
    if !idx.is_empty() {
        tx.execute(
            "INSERT INTO log_entries (origin, idx, entry, leaf_hash)
             SELECT $1, * FROM unnest($2::bigint[], $3::bytea[], $4::bytea[])",
            &[&origin, &idx, &entry_bytes, &leaves],
        )
        .map_err(other("insert log entries"))?;
    }
    if !levels.is_empty() {
        tx.execute(
            "INSERT INTO log_nodes (origin, level, idx, hash)
             SELECT $1, * FROM unnest($2::smallint[], $3::bigint[], $4::bytea[])",
            &[&origin, &levels, &node_idx, &node_hashes],
        )
        .map_err(other("insert log nodes"))?;
    }
    tx.execute(
        "UPDATE logs SET size = $2 WHERE origin = $1",
        &[&origin, &new_size_i],
    )
    .map_err(other("update log size"))?;
    Ok(Appended {
        first_index: expected_size,
        size: new_size,
    })
}

/// The checks and write of a checkpoint save inside the caller's transaction.
fn save_checkpoint_in(
    tx: &mut impl GenericClient,
    origin: &str,
    checkpoint: &StoredCheckpoint,
) -> Result<(), StoreError> {
    let checkpoint_size = int(checkpoint.size, "checkpoint size")?;
    let row = tx
        .query_opt(
            "SELECT size, checkpoint_size, checkpoint_root FROM logs
             WHERE origin = $1 FOR UPDATE",
            &[&origin],
        )
        .map_err(other("lock log"))?
        .ok_or(StoreError::NotFound)?;
    let log_size: i64 = row.try_get(0).map_err(other("read log size"))?;
    let stored_size: Option<i64> = row.try_get(1).map_err(other("read checkpoint size"))?;
    let stored_root: Option<Vec<u8>> = row.try_get(2).map_err(other("read checkpoint root"))?;
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
    tx.execute(
        "UPDATE logs SET checkpoint_size = $2, checkpoint_root = $3, checkpoint_note = $4
         WHERE origin = $1",
        &[
            &origin,
            &checkpoint_size,
            &&checkpoint.root[..],
            &checkpoint.note,
        ],
    )
    .map_err(other("save checkpoint"))?;
    Ok(())
}

/// A prepared log append (and its checkpoint, if any) inside the caller's transaction.
pub(crate) fn append_batch_in(
    tx: &mut impl GenericClient,
    log: &LogBatch<'_>,
) -> Result<Appended, StoreError> {
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

impl LogStore for PgStore {
    fn open_log(&self, origin: &str) -> Result<LogHead, StoreError> {
        let mut conn = self.lock()?;
        conn.execute(
            "INSERT INTO logs (origin) VALUES ($1) ON CONFLICT (origin) DO NOTHING",
            &[&origin],
        )
        .map_err(other("create log"))?;
        let row = conn
            .query_one(
                "SELECT size, checkpoint_size, checkpoint_root, checkpoint_note
                 FROM logs WHERE origin = $1",
                &[&origin],
            )
            .map_err(other("read log head"))?;
        let size: i64 = row.try_get(0).map_err(other("read log size"))?;
        let cp_size: Option<i64> = row.try_get(1).map_err(other("read checkpoint size"))?;
        let cp_root: Option<Vec<u8>> = row.try_get(2).map_err(other("read checkpoint root"))?;
        let cp_note: Option<Vec<u8>> = row.try_get(3).map_err(other("read checkpoint note"))?;
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
        let mut tx = conn.transaction().map_err(other("begin log append"))?;
        let appended = append_in(&mut tx, origin, expected_size, entries, leaf_hashes, nodes)?;
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
        // One transaction, one WAL flush: the batch and the checkpoint covering it.
        let mut tx = conn.transaction().map_err(other("begin log append"))?;
        let appended = append_in(&mut tx, origin, expected_size, entries, leaf_hashes, nodes)?;
        save_checkpoint_in(&mut tx, origin, checkpoint)?;
        tx.commit().map_err(other("commit log append"))?;
        Ok(appended)
    }

    fn nodes(&self, origin: &str, addrs: &[NodeAddr]) -> Result<Vec<Hash>, StoreError> {
        if addrs.is_empty() {
            return Ok(Vec::new());
        }
        let levels: Vec<i16> = addrs.iter().map(|a| i16::from(a.level)).collect();
        let Ok(idx) = addrs
            .iter()
            .map(|a| i64::try_from(a.index))
            .collect::<Result<Vec<i64>, _>>()
        else {
            return Err(StoreError::NotFound);
        };
        let mut conn = self.lock()?;
        let rows = conn
            .query(
                "SELECT COALESCE(n.hash, e.leaf_hash)
                 FROM unnest($2::smallint[], $3::bigint[]) WITH ORDINALITY AS a (level, idx, ord)
                 LEFT JOIN log_nodes n
                     ON a.level > 0 AND n.origin = $1 AND n.level = a.level AND n.idx = a.idx
                 LEFT JOIN log_entries e
                     ON a.level = 0 AND e.origin = $1 AND e.idx = a.idx
                 ORDER BY a.ord",
                &[&origin, &levels, &idx],
            )
            .map_err(other("read node hashes"))?;
        rows.iter()
            .map(|row| {
                let found: Option<Vec<u8>> = row.try_get(0).map_err(other("read node hash"))?;
                hash(found.ok_or(StoreError::NotFound)?, "node hash")
            })
            .collect()
    }

    fn entries(&self, origin: &str, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut conn = self.lock()?;
        if !log_exists(&mut *conn, origin)? {
            return Err(StoreError::NotFound);
        }
        let Ok(lo) = i64::try_from(start) else {
            return Ok(Vec::new());
        };
        let hi = i64::try_from(start.saturating_add(count)).unwrap_or(i64::MAX);
        conn.query(
            "SELECT entry FROM log_entries WHERE origin = $1 AND idx >= $2 AND idx < $3
             ORDER BY idx",
            &[&origin, &lo, &hi],
        )
        .map_err(other("read log entries"))?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<Vec<Vec<u8>>, _>>()
        .map_err(other("read log entry"))
    }

    fn save_checkpoint(
        &self,
        origin: &str,
        checkpoint: &StoredCheckpoint,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let mut tx = conn.transaction().map_err(other("begin checkpoint save"))?;
        save_checkpoint_in(&mut tx, origin, checkpoint)?;
        tx.commit().map_err(other("commit checkpoint"))
    }

    fn witnessed(&self, origin: &str) -> Result<Option<Witnessed>, StoreError> {
        let mut conn = self.lock()?;
        let Some(row) = conn
            .query_opt(
                "SELECT size, root FROM witnessed WHERE origin = $1",
                &[&origin],
            )
            .map_err(other("read witnessed state"))?
        else {
            return Ok(None);
        };
        let size: i64 = row.try_get(0).map_err(other("read witnessed size"))?;
        let root: Vec<u8> = row.try_get(1).map_err(other("read witnessed root"))?;
        Ok(Some(Witnessed {
            origin: origin.to_owned(),
            size: uint(size, "witnessed size")?,
            root: hash(root, "witnessed root")?,
        }))
    }

    fn record_witnessed(&self, expected_size: u64, next: &Witnessed) -> Result<(), StoreError> {
        let size = int(next.size, "witnessed size")?;
        let expected = int(expected_size, "expected witnessed size")?;
        let root = &next.root[..];
        let mut conn = self.lock()?;
        // One statement each way, so the compare and the update are one atomic step; a
        // first sighting (expected 0) may also find a row stored at size 0.
        let moved = if expected_size == 0 {
            conn.execute(
                "INSERT INTO witnessed (origin, size, root) VALUES ($1, $2, $3)
                 ON CONFLICT (origin) DO UPDATE
                     SET size = excluded.size, root = excluded.root, updated_at = now()
                     WHERE witnessed.size = 0",
                &[&next.origin, &size, &root],
            )
        } else {
            conn.execute(
                "UPDATE witnessed SET size = $2, root = $3, updated_at = now()
                 WHERE origin = $1 AND size = $4",
                &[&next.origin, &size, &root, &expected],
            )
        }
        .map_err(other("record witnessed state"))?;
        if moved == 1 {
            return Ok(());
        }
        let stored: Option<i64> = conn
            .query_opt(
                "SELECT size FROM witnessed WHERE origin = $1",
                &[&next.origin],
            )
            .map_err(other("read witnessed state"))?
            .map(|row| row.try_get(0))
            .transpose()
            .map_err(other("read witnessed size"))?;
        Err(StoreError::Conflict(Conflict::WitnessMoved {
            origin: next.origin.clone(),
            expected: expected_size,
            stored: stored.map_or(Ok(0), |s| uint(s, "witnessed size"))?,
        }))
    }

    fn raise_alarm(&self, kind: &str, origin: &str, detail: &str) -> Result<i64, StoreError> {
        let mut conn = self.lock()?;
        conn.query_one(
            "INSERT INTO alarms (kind, origin, detail) VALUES ($1, $2, $3) RETURNING id",
            &[&kind, &origin, &detail],
        )
        .and_then(|row| row.try_get(0))
        .map_err(other("raise alarm"))
    }

    fn alarms(&self) -> Result<Vec<Alarm>, StoreError> {
        let mut conn = self.lock()?;
        conn.query(
            "SELECT id, kind, origin, detail,
                    to_char(raised_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')
             FROM alarms ORDER BY id DESC",
            &[],
        )
        .map_err(other("read alarms"))?
        .iter()
        .map(|row| {
            Ok(Alarm {
                id: row.try_get(0)?,
                kind: row.try_get(1)?,
                origin: row.try_get(2)?,
                detail: row.try_get(3)?,
                raised_at: row.try_get(4)?,
            })
        })
        .collect::<Result<Vec<_>, postgres::Error>>()
        .map_err(other("read alarm row"))
    }
}
