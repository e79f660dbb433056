-- The hall's alerts (现场告警, domain/alerts.py): raised once per cause, acknowledged by a
-- manager, cleared when the cause ends. Every step is also a ledger event of the hall; this
-- table is what the console reads. At most one open alert per hall and key, whatever the
-- number of server processes (the hall's lock orders the sweeps; the index makes sure).

CREATE TABLE alerts (
    id             text PRIMARY KEY,
    hall           text NOT NULL REFERENCES halls (id),
    key            text NOT NULL,
    kind           text NOT NULL,
    severity       text NOT NULL CHECK (severity IN ('warning', 'alarm')),
    since          timestamptz NOT NULL,
    raised_at      timestamptz NOT NULL,
    escalated_at   timestamptz,
    window_no      integer,
    service        text,
    subject        text,
    detail         jsonb NOT NULL DEFAULT '{}',
    acked_at       timestamptz,
    acked_by       text,
    acked_by_name  text,
    cleared_at     timestamptz
);
CREATE UNIQUE INDEX alerts_open ON alerts (hall, key) WHERE cleared_at IS NULL;
CREATE INDEX alerts_recent ON alerts (hall, raised_at);
