-- Transparency logs: this node's own logs, and the partner logs it witnesses.
-- Each hash is stored once. A leaf hash lives beside its entry in log_entries and is the
-- level-0 node; log_nodes holds complete-subtree hashes of level 1 and up, addressed as
-- in C2SP tlog-tiles (level, index). Tiles and proofs are derived from these rows.
-- logs.size is the number of entries; an append checks and moves it in the transaction
-- that inserts the entries and nodes, so it never disagrees with them.

CREATE TABLE logs (
    origin          TEXT    PRIMARY KEY,
    size            INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
    -- The latest checkpoint this node signed: all three set, or none.
    checkpoint_size INTEGER CHECK (checkpoint_size >= 0),
    checkpoint_root BLOB    CHECK (length(checkpoint_root) = 32),
    checkpoint_note BLOB,
    CHECK ((checkpoint_size IS NULL) = (checkpoint_root IS NULL)
       AND (checkpoint_size IS NULL) = (checkpoint_note IS NULL))
);

CREATE TABLE log_entries (
    origin    TEXT    NOT NULL REFERENCES logs (origin),
    idx       INTEGER NOT NULL CHECK (idx >= 0),
    entry     BLOB    NOT NULL,
    leaf_hash BLOB    NOT NULL CHECK (length(leaf_hash) = 32),
    PRIMARY KEY (origin, idx)
) WITHOUT ROWID;

CREATE TABLE log_nodes (
    origin TEXT    NOT NULL REFERENCES logs (origin),
    level  INTEGER NOT NULL CHECK (level BETWEEN 1 AND 63),
    idx    INTEGER NOT NULL CHECK (idx >= 0),
    hash   BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (origin, level, idx)
) WITHOUT ROWID;

-- The witness side: per partner origin, the latest (size, root) this node cosigned.
CREATE TABLE witnessed (
    origin     TEXT    PRIMARY KEY,
    size       INTEGER NOT NULL CHECK (size >= 0),
    root       BLOB    NOT NULL CHECK (length(root) = 32),
    updated_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE alarms (
    id        INTEGER PRIMARY KEY,
    kind      TEXT    NOT NULL,
    origin    TEXT    NOT NULL,
    detail    TEXT    NOT NULL,
    raised_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
