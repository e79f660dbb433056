-- Improvement actions (整改, domain/improvements.py): problem, cause, measure, owner, due date,
-- evidence, verified by. Opened from a follow-up, a complaint, a survey finding or an inspection
-- (source_kind, source_id); every step is also a ledger event of the hall, and `steps` keeps the
-- texts in order (who, when, what) for the page and the monthly report.

CREATE TABLE improvements (
    id            text PRIMARY KEY,
    hall          text NOT NULL REFERENCES halls (id),
    source_kind   text NOT NULL CHECK (source_kind IN ('follow_up', 'complaint', 'survey', 'inspection')),
    source_id     text,
    problem       text NOT NULL,
    cause         text,
    measure       text NOT NULL,
    owner         text NOT NULL,
    due           timestamptz NOT NULL,             -- the end of the due day (inclusive)
    state         text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'verified')),
    evidence      text,
    done_at       timestamptz,
    verified_by   text,
    verified_at   timestamptz,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL,
    steps         jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX improvements_hall ON improvements (hall, created_at);
CREATE INDEX improvements_source ON improvements (source_kind, source_id);
