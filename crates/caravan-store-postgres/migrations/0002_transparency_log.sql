-- Transparency logs: this node's own logs, and the partner logs it witnesses.
-- The same logical schema as SQLite's 0002_transparency_log.sql. Each hash is stored once:
-- a leaf hash lives beside its entry in log_entries and is the level-0 node; log_nodes
-- holds complete-subtree hashes of level 1 and up, addressed as in C2SP tlog-tiles.
-- logs.size is the number of entries; an append locks the logs row, checks and moves
-- size in the transaction that inserts the entries and nodes.

CREATE TABLE logs (
    origin          TEXT    PRIMARY KEY,
    size            BIGINT  NOT NULL DEFAULT 0 CHECK (size >= 0),
    -- The latest checkpoint this node signed: all three set, or none.
    checkpoint_size BIGINT  CHECK (checkpoint_size >= 0),
    checkpoint_root BYTEA   CHECK (length(checkpoint_root) = 32),
    checkpoint_note BYTEA,
    CHECK ((checkpoint_size IS NULL) = (checkpoint_root IS NULL)
       AND (checkpoint_size IS NULL) = (checkpoint_note IS NULL))
);

CREATE TABLE log_entries (
    origin    TEXT   NOT NULL REFERENCES logs (origin),
    idx       BIGINT NOT NULL CHECK (idx >= 0),
    entry     BYTEA  NOT NULL,
    leaf_hash BYTEA  NOT NULL CHECK (length(leaf_hash) = 32),
    PRIMARY KEY (origin, idx)
);

CREATE TABLE log_nodes (
    origin TEXT     NOT NULL REFERENCES logs (origin),
    level  SMALLINT NOT NULL CHECK (level BETWEEN 1 AND 63),
    idx    BIGINT   NOT NULL CHECK (idx >= 0),
    hash   BYTEA    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (origin, level, idx)
);

-- The witness side: per partner origin, the latest (size, root) this node cosigned.
CREATE TABLE witnessed (
    origin     TEXT        PRIMARY KEY,
    size       BIGINT      NOT NULL CHECK (size >= 0),
    root       BYTEA       NOT NULL CHECK (length(root) = 32),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE alarms (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind      TEXT        NOT NULL,
    origin    TEXT        NOT NULL,
    detail    TEXT        NOT NULL,
    raised_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
