-- Mutual assistance, what travels to the partner beyond requests (assistance spec §5, §12,
-- §15): hit/no-hit queries (never the identifier asked about: only its salted commitment),
-- the index of what this node holds for answering them, bulk batches and outcome feedback.
-- Times are Unix milliseconds chosen by the caller; snapshot rows carry a version.

CREATE TABLE assistance_hitnohit (
    query_id       TEXT    PRIMARY KEY,
    direction      TEXT    NOT NULL CHECK (direction IN ('out', 'in')),
    peer           TEXT    NOT NULL,
    official       TEXT    NOT NULL,
    query_type     TEXT    NOT NULL,
    purpose        TEXT,
    case_reference TEXT    NOT NULL,
    commitment     TEXT    NOT NULL,
    salt           TEXT    NOT NULL,
    answer         TEXT    NOT NULL CHECK (answer IN ('pending', 'hit', 'no_hit', 'refused')),
    code           TEXT,
    handle         TEXT,
    day            TEXT    NOT NULL,
    asked_at       BIGINT  NOT NULL,
    answered_at    BIGINT,
    version        BIGINT  NOT NULL CHECK (version >= 1)
);

-- The per-official daily rate limit counts the partner's answered queries of a day.
CREATE INDEX assistance_hitnohit_rate ON assistance_hitnohit (direction, official, day);
CREATE INDEX assistance_hitnohit_asked ON assistance_hitnohit (asked_at DESC, query_id);

-- Normalised identifiers of this node's own declarations, by §12 query type, and how far
-- (declaration store id) the index has read.
CREATE TABLE assistance_holdings (
    kind  TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (kind, value)
);

CREATE TABLE assistance_holdings_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    after_id BIGINT  NOT NULL
);

-- Feedback.Outcome (§15): results reported back on a case, sent or received.
CREATE TABLE assistance_feedback (
    feedback_id TEXT    PRIMARY KEY,
    direction   TEXT    NOT NULL CHECK (direction IN ('out', 'in')),
    case_id     TEXT    NOT NULL,
    peer        TEXT    NOT NULL,
    reported_by TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    reported_on TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE INDEX assistance_feedback_case ON assistance_feedback (case_id, created_at);

-- Bulk batches (§5), sent or received; one per (direction, dataset, period).
CREATE TABLE assistance_bulk_batches (
    batch_id     TEXT    PRIMARY KEY,
    direction    TEXT    NOT NULL CHECK (direction IN ('out', 'in')),
    peer         TEXT    NOT NULL,
    dataset      TEXT    NOT NULL,
    period_from  TEXT    NOT NULL,
    period_to    TEXT    NOT NULL,
    row_count    BIGINT  NOT NULL CHECK (row_count >= 0),
    batch_sha256 TEXT    NOT NULL,
    manifest     TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    code         TEXT,
    exchange_message_id TEXT,
    created_at   BIGINT  NOT NULL,
    UNIQUE (direction, dataset, period_from, period_to)
);

-- The row parts of an outbound batch until it is handed to the exchange (sealed in its
-- outbox); deleted then, so rows are not kept twice.
CREATE TABLE assistance_bulk_parts (
    batch_id TEXT    NOT NULL REFERENCES assistance_bulk_batches (batch_id),
    seq      BIGINT  NOT NULL CHECK (seq >= 1),
    row_count BIGINT  NOT NULL,
    bytes    BYTEA   NOT NULL,
    PRIMARY KEY (batch_id, seq)
);
