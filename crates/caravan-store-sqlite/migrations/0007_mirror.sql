-- Mirror matching runs (spec analytics, mirror matching; issue 7): one row per run,
-- its links and unmatched legs, its findings and its mirror-gap aggregates. A run is
-- written in one transaction. JSON columns are written and read by the node, never
-- parsed by SQL. Times are Unix milliseconds.

CREATE TABLE mirror_runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at     INTEGER NOT NULL,
    exports_source TEXT    NOT NULL,
    imports_source TEXT    NOT NULL,
    summary        TEXT    NOT NULL,
    links          INTEGER NOT NULL,
    findings       INTEGER NOT NULL
);

CREATE TABLE mirror_links (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      INTEGER NOT NULL REFERENCES mirror_runs (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    direction   TEXT    NOT NULL,
    tier        TEXT    NOT NULL,
    cardinality TEXT    NOT NULL,
    confidence  REAL,
    hs6         TEXT,
    export_lrns TEXT    NOT NULL,
    import_lrns TEXT    NOT NULL,
    log_gap     REAL,
    score       REAL    NOT NULL,
    flags       TEXT    NOT NULL,
    evidence    TEXT    NOT NULL,
    discrepancy TEXT    NOT NULL,
    exports     TEXT    NOT NULL,
    imports     TEXT    NOT NULL,
    UNIQUE (run_id, seq)
);

CREATE INDEX mirror_links_by_score ON mirror_links (run_id, score DESC, seq);

CREATE TABLE mirror_findings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       INTEGER NOT NULL REFERENCES mirror_runs (id) ON DELETE CASCADE,
    link_id      INTEGER NOT NULL REFERENCES mirror_links (id) ON DELETE CASCADE,
    link_seq     INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    score        REAL    NOT NULL,
    hs6          TEXT,
    declarations TEXT    NOT NULL,
    detail       TEXT    NOT NULL
);

CREATE INDEX mirror_findings_by_link ON mirror_findings (link_id);

CREATE TABLE mirror_gaps (
    run_id                 INTEGER NOT NULL REFERENCES mirror_runs (id) ON DELETE CASCADE,
    group_by               TEXT    NOT NULL
                           CHECK (group_by IN ('partner', 'chapter', 'hs6', 'month')),
    direction              TEXT    NOT NULL,
    key                    TEXT    NOT NULL,
    links                  INTEGER NOT NULL,
    unmatched_exports      INTEGER NOT NULL,
    unmatched_imports      INTEGER NOT NULL,
    export_fob             REAL    NOT NULL,
    import_fob             REAL    NOT NULL,
    gap                    REAL    NOT NULL,
    weighted_gap           REAL    NOT NULL,
    median_log_gap         REAL    NOT NULL,
    unmatched_export_value REAL    NOT NULL,
    PRIMARY KEY (run_id, group_by, direction, key)
);
