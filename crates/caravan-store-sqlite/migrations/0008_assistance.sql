-- Mutual assistance: agreements, cases, transitions, messages, evidence and custody,
-- markings, consents and erasures (assistance spec §1–§11). Times are Unix milliseconds;
-- dates are ISO 8601 text. Snapshot rows carry a version for optimistic concurrency.

CREATE TABLE assistance_agreements (
    agreement_id TEXT    PRIMARY KEY,
    version      INTEGER NOT NULL CHECK (version >= 1),
    state        TEXT    NOT NULL,
    assurance    TEXT    NOT NULL,
    base_toml    TEXT    NOT NULL,
    overlay      TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE assistance_cases (
    case_id      TEXT    PRIMARY KEY,
    agreement_id TEXT    NOT NULL REFERENCES assistance_agreements (agreement_id),
    holder       TEXT    NOT NULL CHECK (holder IN ('requester', 'requested')),
    partner      TEXT    NOT NULL,
    desk         TEXT    NOT NULL,
    types        TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    reply_due    TEXT,
    overdue      INTEGER NOT NULL CHECK (overdue IN (0, 1)),
    request      TEXT    NOT NULL,
    snapshot     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1)
);

CREATE INDEX assistance_cases_updated ON assistance_cases (updated_at DESC, case_id);
CREATE INDEX assistance_cases_desk ON assistance_cases (desk, state);

-- Append-only history of each case.
CREATE TABLE assistance_transitions (
    case_id    TEXT    NOT NULL REFERENCES assistance_cases (case_id),
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    action     TEXT    NOT NULL,
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL,
    side       TEXT    NOT NULL,
    account    TEXT    NOT NULL,
    on_date    TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    detail     TEXT    NOT NULL,
    PRIMARY KEY (case_id, seq)
);

-- The workflow's messages; (direction, message_uuid) eliminates re-sent duplicates.
CREATE TABLE assistance_messages (
    id                  INTEGER PRIMARY KEY,
    message_uuid        TEXT    NOT NULL,
    direction           TEXT    NOT NULL CHECK (direction IN ('out', 'in')),
    case_id             TEXT    NOT NULL,
    peer                TEXT    NOT NULL,
    action              TEXT    NOT NULL,
    body                TEXT    NOT NULL,
    exchange_message_id TEXT,
    state               TEXT    NOT NULL CHECK (state IN ('queued', 'dispatched', 'applied', 'rejected')),
    code                TEXT,
    created_at          INTEGER NOT NULL,
    UNIQUE (direction, message_uuid)
);

CREATE INDEX assistance_messages_case ON assistance_messages (case_id, id);
CREATE INDEX assistance_messages_queued ON assistance_messages (state, id);
CREATE INDEX assistance_messages_action ON assistance_messages (action, id);

CREATE TABLE assistance_evidence (
    evidence_id TEXT    PRIMARY KEY,
    case_id     TEXT    NOT NULL,
    origin      TEXT    NOT NULL CHECK (origin IN ('own', 'partner')),
    provider    TEXT    NOT NULL,
    sha256      TEXT    NOT NULL CHECK (length(sha256) = 64),
    record      TEXT    NOT NULL,
    blob        BLOB,
    reference   TEXT,
    erased_at   INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1)
);

CREATE INDEX assistance_evidence_case ON assistance_evidence (case_id, created_at);

-- Append-only chain of custody.
CREATE TABLE assistance_custody (
    evidence_id TEXT    NOT NULL REFERENCES assistance_evidence (evidence_id),
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    kind        TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    on_date     TEXT    NOT NULL,
    place       TEXT    NOT NULL,
    file_sha256 TEXT    NOT NULL,
    chain       TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (evidence_id, seq)
);

-- Append-only marking history per item and field ('' = the whole item).
CREATE TABLE assistance_markings (
    item_id TEXT    NOT NULL,
    field   TEXT    NOT NULL,
    seq     INTEGER NOT NULL CHECK (seq >= 1),
    tlp     TEXT    NOT NULL,
    pap     TEXT    NOT NULL,
    caveats TEXT    NOT NULL,
    set_by  TEXT    NOT NULL,
    reason  TEXT    NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (item_id, field, seq)
);

CREATE TABLE assistance_consents (
    consent_id      TEXT    PRIMARY KEY,
    case_id         TEXT    NOT NULL,
    direction       TEXT    NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    state           TEXT    NOT NULL,
    purpose         TEXT    NOT NULL,
    recipient_class TEXT    NOT NULL,
    snapshot        TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1)
);

CREATE INDEX assistance_consents_case ON assistance_consents (case_id, created_at);

CREATE TABLE assistance_erasures (
    erasure_id   TEXT    PRIMARY KEY,
    case_id      TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    direction    TEXT    NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    state        TEXT    NOT NULL CHECK (state IN ('pending', 'confirmed')),
    items        TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    requested_at INTEGER NOT NULL,
    confirmed_at INTEGER,
    detail       TEXT    NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1)
);

CREATE INDEX assistance_erasures_case ON assistance_erasures (case_id, requested_at);

CREATE TRIGGER assistance_transitions_append_only BEFORE UPDATE ON assistance_transitions
BEGIN
    SELECT RAISE(ABORT, 'case transitions are append-only');
END;

CREATE TRIGGER assistance_custody_append_only BEFORE UPDATE ON assistance_custody
BEGIN
    SELECT RAISE(ABORT, 'the chain of custody is append-only');
END;
