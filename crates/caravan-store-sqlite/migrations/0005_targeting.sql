-- Targeting's feedback loop: inspection outcomes (the labels), the model registry and the
-- rule-file registry. Times are Unix milliseconds chosen by the caller.
--
-- One current outcome per declaration: a correction clears the old row's is_current and
-- inserts the next revision, so the history stays. Exactly one active model and one active
-- rule file: partial unique indexes make a second one impossible, and promotion retires the
-- old one in the same transaction.

CREATE TABLE target_outcomes (
    id             INTEGER PRIMARY KEY,
    declaration_id INTEGER NOT NULL REFERENCES declarations (id),
    revision       INTEGER NOT NULL CHECK (revision >= 1),
    result         TEXT    NOT NULL
                   CHECK (result IN ('no_irregularity', 'irregularity', 'seizure')),
    seizure        TEXT,
    revenue_milli  INTEGER CHECK (revenue_milli >= 0),
    currency       TEXT,
    inspector      TEXT    NOT NULL,
    recorded_at    INTEGER NOT NULL,
    reason         TEXT,
    is_current     INTEGER NOT NULL CHECK (is_current IN (0, 1)),
    UNIQUE (declaration_id, revision)
);
CREATE UNIQUE INDEX target_outcomes_current ON target_outcomes (declaration_id) WHERE is_current;
CREATE INDEX target_outcomes_recorded ON target_outcomes (recorded_at);

CREATE TABLE target_models (
    version     INTEGER PRIMARY KEY CHECK (version >= 1),
    digest      BLOB    NOT NULL CHECK (length(digest) = 32),
    bytes       BLOB    NOT NULL,
    training    TEXT    NOT NULL,
    evaluation  TEXT    NOT NULL,
    auc         REAL,
    trained_at  INTEGER NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('candidate', 'active', 'retired')),
    promoted_at INTEGER
);
CREATE UNIQUE INDEX target_models_one_active ON target_models (status) WHERE status = 'active';

CREATE TABLE target_rule_files (
    version     INTEGER PRIMARY KEY CHECK (version >= 1),
    name        TEXT    NOT NULL,
    set_version TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    digest      BLOB    NOT NULL CHECK (length(digest) = 32),
    loaded_by   TEXT    NOT NULL,
    loaded_at   INTEGER NOT NULL,
    active      INTEGER NOT NULL CHECK (active IN (0, 1))
);
CREATE UNIQUE INDEX target_rule_files_one_active ON target_rule_files (active) WHERE active;
