-- Sign-in credentials, pending two-step sign-ins and sign-in throttling (issue 9).
-- Times are Unix milliseconds chosen by the caller.

-- One row per account that has a password or a second factor. The password is an argon2id
-- PHC string; the TOTP secret is never shown again after enrolment. totp_last_step is the
-- RFC 6238 time step of the last accepted code, so a code cannot be used twice.
CREATE TABLE access_credentials (
    account        TEXT    PRIMARY KEY REFERENCES access_accounts (name),
    password_phc   TEXT,
    must_change    BOOLEAN NOT NULL DEFAULT FALSE,
    totp_secret    BYTEA,
    totp_pending   BYTEA,
    totp_last_step BIGINT,
    updated_at     BIGINT  NOT NULL
);

-- A sign-in that passed its password and waits for a second step (TOTP, a password change,
-- a TOTP enrolment). Only the SHA-256 of the browser's secret is kept.
CREATE TABLE access_signin_pending (
    sha256     BYTEA   PRIMARY KEY CHECK (length(sha256) = 32),
    account    TEXT    NOT NULL REFERENCES access_accounts (name),
    totp_ok    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);

-- Failed sign-ins per subject (`account:<name>` or `address:<ip>`).
CREATE TABLE access_signin_failures (
    subject         TEXT    PRIMARY KEY,
    failures        BIGINT  NOT NULL,
    last_failure_at BIGINT  NOT NULL,
    locked_until    BIGINT  NOT NULL
);
