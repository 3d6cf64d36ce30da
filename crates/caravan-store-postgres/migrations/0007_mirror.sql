-- Mirror matching runs (spec analytics, mirror matching; issue 7): one row per run,
-- its links and unmatched legs, its findings and its mirror-gap aggregates. A run is
-- written in one transaction. JSON columns are written and read by the node, never
-- parsed by SQL. Times are Unix milliseconds.

CREATE TABLE mirror_runs (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at     BIGINT NOT NULL,
    exports_source TEXT    NOT NULL,
    imports_source TEXT    NOT NULL,
    summary        TEXT    NOT NULL,
    links          BIGINT NOT NULL,
    findings       BIGINT NOT NULL
);

CREATE TABLE mirror_links (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      BIGINT NOT NULL REFERENCES mirror_runs (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    direction   TEXT    NOT NULL,
    tier        TEXT    NOT NULL,
    cardinality TEXT    NOT NULL,
    confidence  DOUBLE PRECISION,
    hs6         TEXT,
    export_lrns TEXT    NOT NULL,
    import_lrns TEXT    NOT NULL,
    log_gap     DOUBLE PRECISION,
    score       DOUBLE PRECISION NOT NULL,
    flags       TEXT    NOT NULL,
    evidence    TEXT    NOT NULL,
    discrepancy TEXT    NOT NULL,
    exports     TEXT    NOT NULL,
    imports     TEXT    NOT NULL,
    UNIQUE (run_id, seq)
);

CREATE INDEX mirror_links_by_score ON mirror_links (run_id, score DESC, seq);

CREATE TABLE mirror_findings (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       BIGINT NOT NULL REFERENCES mirror_runs (id) ON DELETE CASCADE,
    link_id      BIGINT NOT NULL REFERENCES mirror_links (id) ON DELETE CASCADE,
    link_seq     BIGINT NOT NULL,
    kind         TEXT    NOT NULL,
    score        DOUBLE PRECISION NOT NULL,
    hs6          TEXT,
    declarations TEXT    NOT NULL,
    detail       TEXT    NOT NULL
);

CREATE INDEX mirror_findings_by_link ON mirror_findings (link_id);

CREATE TABLE mirror_gaps (
    run_id                 BIGINT NOT NULL REFERENCES mirror_runs (id) ON DELETE CASCADE,
    group_by               TEXT    NOT NULL
                           CHECK (group_by IN ('partner', 'chapter', 'hs6', 'month')),
    direction              TEXT    NOT NULL,
    key                    TEXT    NOT NULL,
    links                  BIGINT NOT NULL,
    unmatched_exports      BIGINT NOT NULL,
    unmatched_imports      BIGINT NOT NULL,
    export_fob             DOUBLE PRECISION NOT NULL,
    import_fob             DOUBLE PRECISION NOT NULL,
    gap                    DOUBLE PRECISION NOT NULL,
    weighted_gap           DOUBLE PRECISION NOT NULL,
    median_log_gap         DOUBLE PRECISION NOT NULL,
    unmatched_export_value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, group_by, direction, key)
);
