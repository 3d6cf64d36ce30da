-- Targeting's feedback loop: the same logical schema as the SQLite backend's
-- 0005_targeting.sql, in PostgreSQL types. Times are Unix milliseconds chosen by the caller.
--
-- One current outcome per declaration: a correction clears the old row's is_current and
-- inserts the next revision, so the history stays. Exactly one active model and one active
-- rule file: partial unique indexes make a second one impossible, and promotion retires the
-- old one in the same transaction.

CREATE TABLE target_outcomes (
    id             BIGSERIAL PRIMARY KEY,
    declaration_id BIGINT    NOT NULL REFERENCES declarations (id),
    revision       BIGINT    NOT NULL CHECK (revision >= 1),
    result         TEXT      NOT NULL
                   CHECK (result IN ('no_irregularity', 'irregularity', 'seizure')),
    seizure        TEXT,
    revenue_milli  BIGINT    CHECK (revenue_milli >= 0),
    currency       TEXT,
    inspector      TEXT      NOT NULL,
    recorded_at    BIGINT    NOT NULL,
    reason         TEXT,
    is_current     BOOLEAN   NOT NULL,
    UNIQUE (declaration_id, revision)
);
CREATE UNIQUE INDEX target_outcomes_current ON target_outcomes (declaration_id) WHERE is_current;
CREATE INDEX target_outcomes_recorded ON target_outcomes (recorded_at);

CREATE TABLE target_models (
    version     BIGINT           PRIMARY KEY CHECK (version >= 1),
    digest      BYTEA            NOT NULL CHECK (length(digest) = 32),
    bytes       BYTEA            NOT NULL,
    training    TEXT             NOT NULL,
    evaluation  TEXT             NOT NULL,
    auc         DOUBLE PRECISION,
    trained_at  BIGINT           NOT NULL,
    status      TEXT             NOT NULL CHECK (status IN ('candidate', 'active', 'retired')),
    promoted_at BIGINT
);
CREATE UNIQUE INDEX target_models_one_active ON target_models (status) WHERE status = 'active';

CREATE TABLE target_rule_files (
    version     BIGINT  PRIMARY KEY CHECK (version >= 1),
    name        TEXT    NOT NULL,
    set_version TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    digest      BYTEA   NOT NULL CHECK (length(digest) = 32),
    loaded_by   TEXT    NOT NULL,
    loaded_at   BIGINT  NOT NULL,
    active      BOOLEAN NOT NULL
);
CREATE UNIQUE INDEX target_rule_files_one_active ON target_rule_files (active) WHERE active;
