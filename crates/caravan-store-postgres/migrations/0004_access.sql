-- Accounts, API tokens and the hash-chained audit trail (assistance spec §13, §14).
-- Times are Unix milliseconds.

CREATE TABLE access_accounts (
    name         TEXT    PRIMARY KEY,
    display_name TEXT    NOT NULL,
    role         TEXT    NOT NULL,
    disabled     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT  NOT NULL
);

CREATE TABLE access_tokens (
    sha256     BYTEA   PRIMARY KEY CHECK (length(sha256) = 32),
    account    TEXT    NOT NULL REFERENCES access_accounts (name),
    label      TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);

CREATE INDEX access_tokens_account ON access_tokens (account);

-- Append-only: the store never updates or deletes a row; each row's sha256 chains it to
-- the previous one.
CREATE TABLE access_audit (
    seq         BIGINT  PRIMARY KEY,
    at          BIGINT  NOT NULL,
    account     TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    object      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('allowed', 'refused')),
    code        TEXT,
    detail      TEXT    NOT NULL,
    prev_sha256 BYTEA   NOT NULL CHECK (length(prev_sha256) = 32),
    sha256      BYTEA   NOT NULL CHECK (length(sha256) = 32)
);

CREATE INDEX access_audit_account ON access_audit (account, seq);
CREATE INDEX access_audit_object ON access_audit (object, seq);

CREATE FUNCTION access_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER access_audit_no_change BEFORE UPDATE OR DELETE ON access_audit
    FOR EACH ROW EXECUTE FUNCTION access_audit_append_only();
