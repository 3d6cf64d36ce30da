-- Node-to-node exchange: partner registry, durable outbox, durable inbox (spec
-- exchange-and-log §6). Times are Unix milliseconds.

CREATE TABLE exchange_partners (
    agreement_id     TEXT    NOT NULL,
    party            TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    endpoint         TEXT    NOT NULL,
    tls_ca_der       BLOB    NOT NULL,
    root_key         BLOB    NOT NULL,
    manifest_version INTEGER NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('active', 'suspended')),
    assurance        TEXT    NOT NULL
                     CHECK (assurance IN ('good_standing', 'under_review', 'violated')),
    updated_at       INTEGER NOT NULL,
    log_vkey         TEXT,
    PRIMARY KEY (agreement_id, party)
);

CREATE TABLE exchange_partner_keys (
    agreement_id TEXT    NOT NULL,
    party        TEXT    NOT NULL,
    purpose      TEXT    NOT NULL CHECK (purpose IN ('signing', 'encryption')),
    kid          TEXT    NOT NULL,
    public       BLOB    NOT NULL,
    not_before   INTEGER NOT NULL,
    not_after    INTEGER,
    revoked_at   INTEGER,
    PRIMARY KEY (agreement_id, party, purpose, kid),
    FOREIGN KEY (agreement_id, party) REFERENCES exchange_partners (agreement_id, party)
        ON DELETE CASCADE
);

CREATE TABLE exchange_outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      TEXT    NOT NULL UNIQUE,
    agreement_id    TEXT    NOT NULL,
    from_party      TEXT    NOT NULL,
    to_party        TEXT    NOT NULL,
    conversation_id TEXT    NOT NULL,
    service         TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    hdr_sha256      BLOB    NOT NULL,
    wire            BLOB    NOT NULL,
    salts           BLOB    NOT NULL,
    log_entry       BLOB    NOT NULL,
    log_index       INTEGER,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'dead_letter')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    receipt         BLOB,
    receipt_salt    BLOB,
    delivered_at    INTEGER
);
CREATE INDEX exchange_outbox_due ON exchange_outbox (state, next_attempt_at, seq);
CREATE INDEX exchange_outbox_conversation
    ON exchange_outbox (to_party, conversation_id, state, seq);

CREATE TABLE exchange_inbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    from_party      TEXT    NOT NULL,
    message_id      TEXT    NOT NULL,
    agreement_id    TEXT    NOT NULL,
    to_party        TEXT    NOT NULL,
    conversation_id TEXT    NOT NULL,
    service         TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    hdr_sha256      BLOB    NOT NULL,
    wire            BLOB    NOT NULL,
    salts           BLOB    NOT NULL,
    received_at     INTEGER NOT NULL,
    log_index       INTEGER,
    receipt         BLOB,
    receipt_salt    BLOB,
    handed_over     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (from_party, message_id)
);
CREATE INDEX exchange_inbox_pending ON exchange_inbox (service, action, handed_over, seq);
