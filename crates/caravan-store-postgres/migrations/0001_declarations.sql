-- Declarations and what was derived from them at ingest: the same logical schema as the
-- SQLite backend's 0001_declarations.sql, in PostgreSQL types.
-- Amounts are integer thousandths (n..16,3 fits in BIGINT); masses and quantities are
-- integer millionths (n..16,6 fits too). The canonical document is the record of what was
-- declared; the other tables are indexes over it for analytics and linking.
-- Tables are created unqualified, in the first schema of the connection's search_path.
-- Needs PostgreSQL 14 or later built with lz4 (Debian and PGDG packages are) for the
-- document column's compression; pglz is several times slower to write.

CREATE TABLE ingest_runs (
    id            BIGSERIAL   PRIMARY KEY,
    source_name   TEXT        NOT NULL,
    format        TEXT        NOT NULL,
    provenance    TEXT        NOT NULL CHECK (provenance IN ('local', 'partner')),
    inserted      BIGINT      NOT NULL,
    replayed      BIGINT      NOT NULL,
    items         BIGINT      NOT NULL,
    committed_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Ids come from declarations_id_seq; the batch reserves them in blocks so that child
-- rows can be written with COPY before the parent row's id is read back.
CREATE TABLE declarations (
    id                  BIGSERIAL PRIMARY KEY,
    run_id              BIGINT    NOT NULL REFERENCES ingest_runs (id),
    source_record       BIGINT    NOT NULL,
    declarant           TEXT      NOT NULL,
    lrn                 TEXT      NOT NULL,
    type_code           TEXT      NOT NULL,
    direction           TEXT      NOT NULL CHECK (direction IN ('import', 'export', 'amendment')),
    function_code       TEXT      NOT NULL,
    mrn                 TEXT,
    issued_at           TEXT,
    declaration_office  TEXT,
    invoice_total_milli BIGINT,
    invoice_currency    TEXT,
    dispatch_country    TEXT,
    destination_country TEXT,
    border_mode         BIGINT,
    lane                TEXT,
    provenance          TEXT      NOT NULL,
    n_items             BIGINT    NOT NULL,
    n_warnings          BIGINT    NOT NULL,
    digest              BYTEA     NOT NULL CHECK (octet_length(digest) = 32),
    document            BYTEA     COMPRESSION lz4 NOT NULL,
    UNIQUE (declarant, lrn)
);

CREATE TABLE goods_items (
    declaration_id      BIGINT NOT NULL REFERENCES declarations (id),
    sequence            BIGINT NOT NULL,
    commodity_code      TEXT,
    hs6                 TEXT,
    description         TEXT,
    origin_country      TEXT,
    gross_mass_micro    BIGINT,
    net_mass_micro      BIGINT,
    quantity_micro      BIGINT,
    quantity_unit       TEXT,
    item_price_milli    BIGINT,
    customs_value_milli BIGINT,
    currency            TEXT,
    procedure           TEXT,
    PRIMARY KEY (declaration_id, sequence)
);

CREATE TABLE parties (
    declaration_id BIGINT  NOT NULL REFERENCES declarations (id),
    ordinal        BIGINT  NOT NULL,
    role           TEXT    NOT NULL,
    id_scheme      TEXT,
    id_value       TEXT,
    id_valid       BOOLEAN,
    name           TEXT,
    name_key       TEXT,
    country        TEXT,
    PRIMARY KEY (declaration_id, ordinal)
);

CREATE TABLE containers (
    declaration_id BIGINT  NOT NULL REFERENCES declarations (id),
    ordinal        BIGINT  NOT NULL,
    container_id   TEXT    NOT NULL,
    iso6346_valid  BOOLEAN NOT NULL,
    PRIMARY KEY (declaration_id, ordinal)
);

CREATE TABLE findings (
    declaration_id BIGINT NOT NULL REFERENCES declarations (id),
    ordinal        BIGINT NOT NULL,
    severity       TEXT   NOT NULL,
    code           TEXT   NOT NULL,
    path           TEXT   NOT NULL,
    value          TEXT,
    message        TEXT   NOT NULL,
    PRIMARY KEY (declaration_id, ordinal)
);

-- As in the SQLite schema: only the index every workflow needs; later migrations add what
-- their queries prove they need, since each index costs an insert per row on ingest.
CREATE INDEX parties_id ON parties (id_scheme, id_value);
