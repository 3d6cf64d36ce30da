-- Declarations and what was derived from them at ingest.
-- Amounts are integer thousandths (n..16,3 fits in i64); masses and quantities are integer
-- millionths (n..16,6 fits too). The canonical document is the record of what was
-- declared; the other tables are indexes over it for analytics and linking.

CREATE TABLE ingest_runs (
    id            INTEGER PRIMARY KEY,
    source_name   TEXT    NOT NULL,
    format        TEXT    NOT NULL,
    provenance    TEXT    NOT NULL CHECK (provenance IN ('local', 'partner')),
    inserted      INTEGER NOT NULL,
    replayed      INTEGER NOT NULL,
    items         INTEGER NOT NULL,
    committed_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE declarations (
    id                  INTEGER PRIMARY KEY,
    run_id              INTEGER NOT NULL REFERENCES ingest_runs (id),
    source_record       INTEGER NOT NULL,
    declarant           TEXT    NOT NULL,
    lrn                 TEXT    NOT NULL,
    type_code           TEXT    NOT NULL,
    direction           TEXT    NOT NULL CHECK (direction IN ('import', 'export', 'amendment')),
    function_code       TEXT    NOT NULL,
    mrn                 TEXT,
    issued_at           TEXT,
    declaration_office  TEXT,
    invoice_total_milli INTEGER,
    invoice_currency    TEXT,
    dispatch_country    TEXT,
    destination_country TEXT,
    border_mode         INTEGER,
    lane                TEXT,
    provenance          TEXT    NOT NULL,
    n_items             INTEGER NOT NULL,
    n_warnings          INTEGER NOT NULL,
    digest              BLOB    NOT NULL CHECK (length(digest) = 32),
    document            BLOB    NOT NULL,
    UNIQUE (declarant, lrn)
);

CREATE TABLE goods_items (
    declaration_id      INTEGER NOT NULL REFERENCES declarations (id),
    sequence            INTEGER NOT NULL,
    commodity_code      TEXT,
    hs6                 TEXT,
    description         TEXT,
    origin_country      TEXT,
    gross_mass_micro    INTEGER,
    net_mass_micro      INTEGER,
    quantity_micro      INTEGER,
    quantity_unit       TEXT,
    item_price_milli    INTEGER,
    customs_value_milli INTEGER,
    currency            TEXT,
    procedure           TEXT,
    PRIMARY KEY (declaration_id, sequence)
) WITHOUT ROWID;

CREATE TABLE parties (
    declaration_id INTEGER NOT NULL REFERENCES declarations (id),
    ordinal        INTEGER NOT NULL,
    role           TEXT    NOT NULL,
    id_scheme      TEXT,
    id_value       TEXT,
    id_valid       INTEGER,
    name           TEXT,
    name_key       TEXT,
    country        TEXT,
    PRIMARY KEY (declaration_id, ordinal)
) WITHOUT ROWID;

CREATE TABLE containers (
    declaration_id INTEGER NOT NULL REFERENCES declarations (id),
    ordinal        INTEGER NOT NULL,
    container_id   TEXT    NOT NULL,
    iso6346_valid  INTEGER NOT NULL,
    PRIMARY KEY (declaration_id, ordinal)
) WITHOUT ROWID;

CREATE TABLE findings (
    declaration_id INTEGER NOT NULL REFERENCES declarations (id),
    ordinal        INTEGER NOT NULL,
    severity       TEXT    NOT NULL,
    code           TEXT    NOT NULL,
    path           TEXT    NOT NULL,
    value          TEXT,
    message        TEXT    NOT NULL,
    PRIMARY KEY (declaration_id, ordinal)
) WITHOUT ROWID;

-- Only the index every workflow needs: finding a party's declarations by identifier.
-- Analytics scan; later migrations add the indexes their queries prove they need, since
-- each index costs a random B-tree insert per row on the ingest path.
CREATE INDEX parties_id ON parties (id_scheme, id_value);
