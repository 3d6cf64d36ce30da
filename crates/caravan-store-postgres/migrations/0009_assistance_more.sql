-- Mutual assistance, the desk's further procedures: legal holds on received items (§11.2)
-- and two-person proposals for agreement status, assurance and directory changes (§1.2,
-- §1.9, §13). Oral requests, forced-disclosure notices and originals live in the case,
-- message, evidence and custody rows of 0008. Times are Unix milliseconds.

CREATE TABLE assistance_holds (
    hold_id     TEXT    PRIMARY KEY,
    item_id     TEXT    NOT NULL,
    case_id     TEXT    NOT NULL,
    reason      TEXT    NOT NULL CHECK (length(trim(reason)) > 0),
    placed_by   TEXT    NOT NULL,
    placed_at   BIGINT  NOT NULL,
    lifted_by   TEXT,
    lifted_at   BIGINT,
    lift_reason TEXT,
    version     BIGINT  NOT NULL CHECK (version >= 1)
);

CREATE INDEX assistance_holds_item ON assistance_holds (item_id, placed_at);

-- One hold in force per item.
CREATE UNIQUE INDEX assistance_holds_current ON assistance_holds (item_id)
    WHERE lifted_at IS NULL;

CREATE TABLE assistance_proposals (
    proposal_id  TEXT    PRIMARY KEY,
    agreement_id TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('status', 'assurance', 'directory')),
    state        TEXT    NOT NULL
                 CHECK (state IN ('pending', 'approved', 'rejected', 'withdrawn')),
    proposed_by  TEXT    NOT NULL,
    decided_by   TEXT,
    snapshot     TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    version      BIGINT  NOT NULL CHECK (version >= 1),
    -- Two-person rule (§13): the deciding account is never the proposing one, except the
    -- proposer withdrawing its own proposal.
    CHECK (decided_by IS NULL OR decided_by <> proposed_by OR state = 'withdrawn')
);

CREATE INDEX assistance_proposals_state ON assistance_proposals (state, created_at);

-- One pending proposal of each kind per agreement.
CREATE UNIQUE INDEX assistance_proposals_pending ON assistance_proposals (agreement_id, kind)
    WHERE state = 'pending';
