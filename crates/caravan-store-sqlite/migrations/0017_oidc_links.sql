-- OpenID Connect sign-in (issue 9): an administrator links an identity provider's subject
-- (issuer, sub) to a local account. Roles always come from the local account, never from
-- the provider's claims; a subject signs in as at most one account.
CREATE TABLE access_oidc_links (
    issuer TEXT NOT NULL CHECK (length(issuer) BETWEEN 1 AND 512),
    subject TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    account TEXT NOT NULL REFERENCES access_accounts (name),
    linked_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX access_oidc_links_account ON access_oidc_links (account);
