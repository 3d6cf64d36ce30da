-- Screening (screening spec §1, §8): list versions with their entries and deltas, the
-- parties screened, their hits and the officers' dispositions. Times are Unix
-- milliseconds chosen by the caller.

CREATE TABLE screen_list_versions (
    id             BIGSERIAL PRIMARY KEY,
    list_id        TEXT    NOT NULL,
    source         TEXT    NOT NULL CHECK (source IN ('ofac', 'un', 'ftm', 'lookout')),
    publisher_date TEXT,
    digest         BYTEA    NOT NULL CHECK (octet_length(digest) = 32),
    loaded_at      BIGINT NOT NULL,
    n_entries      BIGINT NOT NULL,
    active         BOOLEAN NOT NULL,
    previous_id    BIGINT REFERENCES screen_list_versions (id),
    n_added        BIGINT NOT NULL,
    n_changed      BIGINT NOT NULL,
    n_removed      BIGINT NOT NULL
);

-- At most one active version per list.
CREATE UNIQUE INDEX screen_list_versions_active ON screen_list_versions (list_id) WHERE active;

CREATE TABLE screen_list_entries (
    version_id   BIGINT NOT NULL REFERENCES screen_list_versions (id),
    entry_id     TEXT    NOT NULL,
    content_hash BYTEA    NOT NULL CHECK (octet_length(content_hash) = 32),
    kind         TEXT    NOT NULL,
    primary_name TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    PRIMARY KEY (version_id, entry_id)
);

CREATE TABLE screen_list_changes (
    version_id BIGINT NOT NULL REFERENCES screen_list_versions (id),
    entry_id   TEXT    NOT NULL,
    change     TEXT    NOT NULL CHECK (change IN ('added', 'changed', 'removed')),
    PRIMARY KEY (version_id, entry_id)
);

CREATE TABLE screen_parties (
    party_key   TEXT    PRIMARY KEY,
    digest      BYTEA    NOT NULL CHECK (octet_length(digest) = 32),
    role        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    country     TEXT,
    id_scheme   TEXT,
    id_value    TEXT,
    screened_at BIGINT NOT NULL
);

-- One row per (party, list entry): re-screens update it, dispositions move its status.
-- `decision*` repeat the latest disposition so a re-screen decides suppression from the
-- row it updates.
CREATE TABLE screen_hits (
    id                     BIGSERIAL PRIMARY KEY,
    party_key              TEXT    NOT NULL REFERENCES screen_parties (party_key),
    party_digest           BYTEA    NOT NULL CHECK (octet_length(party_digest) = 32),
    list_id                TEXT    NOT NULL,
    entry_id               TEXT    NOT NULL,
    version_id             BIGINT NOT NULL REFERENCES screen_list_versions (id),
    entry_hash             BYTEA    NOT NULL CHECK (octet_length(entry_hash) = 32),
    matched_name           TEXT    NOT NULL,
    score                  DOUBLE PRECISION    NOT NULL,
    band                   TEXT    NOT NULL,
    explanation            TEXT    NOT NULL,
    status                 TEXT    NOT NULL CHECK (status IN ('open', 'suppressed', 'true_match',
                               'false_positive', 'delisted', 'closed')),
    decision               TEXT    CHECK (decision IN ('true_match', 'false_positive')),
    decided_party_digest   BYTEA,
    decided_entry_hash     BYTEA,
    first_seen_at          BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL,
    UNIQUE (party_key, list_id, entry_id)
);

CREATE INDEX screen_hits_entry ON screen_hits (list_id, entry_id);
CREATE INDEX screen_hits_status ON screen_hits (status, score);

-- Append-only: a disposition is never edited, only superseded by a later one.
CREATE TABLE screen_dispositions (
    id           BIGSERIAL PRIMARY KEY,
    hit_id       BIGINT NOT NULL REFERENCES screen_hits (id),
    decision     TEXT    NOT NULL CHECK (decision IN ('true_match', 'false_positive')),
    reason       TEXT    NOT NULL,
    note         TEXT    NOT NULL,
    account      TEXT    NOT NULL,
    decided_at   BIGINT NOT NULL,
    party_digest BYTEA    NOT NULL CHECK (octet_length(party_digest) = 32),
    entry_hash   BYTEA    NOT NULL CHECK (octet_length(entry_hash) = 32)
);

CREATE INDEX screen_dispositions_hit ON screen_dispositions (hit_id);

-- Every screening run: a full or changed-party run, or the delta re-screen of a load.
CREATE TABLE screen_runs (
    id             BIGSERIAL PRIMARY KEY,
    kind           TEXT    NOT NULL CHECK (kind IN ('parties', 'delta')),
    version_id     BIGINT REFERENCES screen_list_versions (id),
    ran_at         BIGINT NOT NULL,
    n_parties      BIGINT NOT NULL,
    n_open         BIGINT NOT NULL,
    n_suppressed   BIGINT NOT NULL,
    n_closed       BIGINT NOT NULL,
    n_delisted     BIGINT NOT NULL
);
