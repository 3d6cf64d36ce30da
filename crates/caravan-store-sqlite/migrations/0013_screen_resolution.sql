-- Entity resolution across declarations (screening spec §9, issue 6 item 6): each distinct
-- party as declared (name, country, identifier) is a record with the resolution batch that
-- first saw it and its current cluster. Cluster ids are the resolver's stable ids: a batch
-- adds records and may merge clusters (recorded below), never split or renumber them.
-- Replaying the batches in order rebuilds the resolver exactly, which the node checks
-- against the stored clusters before it adds a batch. Times are Unix milliseconds.

CREATE TABLE screen_resolution_batches (
    batch      INTEGER PRIMARY KEY CHECK (batch >= 0),
    resolved_at INTEGER NOT NULL,
    n_records  INTEGER NOT NULL,
    n_clusters INTEGER NOT NULL,
    n_merges   INTEGER NOT NULL,
    model      TEXT    NOT NULL
);

CREATE TABLE screen_resolution_records (
    record_id  TEXT    PRIMARY KEY,
    batch      INTEGER NOT NULL REFERENCES screen_resolution_batches (batch),
    name       TEXT    NOT NULL,
    country    TEXT,
    id_scheme  TEXT,
    id_value   TEXT,
    cluster_id INTEGER NOT NULL CHECK (cluster_id >= 0)
);

CREATE INDEX screen_resolution_records_cluster ON screen_resolution_records (cluster_id);
CREATE INDEX screen_resolution_records_batch ON screen_resolution_records (batch, record_id);

CREATE TABLE screen_resolution_merges (
    batch    INTEGER NOT NULL REFERENCES screen_resolution_batches (batch),
    kept     INTEGER NOT NULL,
    absorbed INTEGER NOT NULL,
    via_a    TEXT    NOT NULL,
    via_b    TEXT    NOT NULL,
    weight   REAL    NOT NULL,
    PRIMARY KEY (batch, absorbed)
);
