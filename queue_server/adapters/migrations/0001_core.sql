-- Core schema: halls, numbering, tickets, windows, the hash-chained ledger, idempotency,
-- staff, devices and sign-in sessions.

CREATE TABLE halls (
    id            text PRIMARY KEY,
    seq           bigint NOT NULL DEFAULT 0,      -- the last ledger sequence number
    head_hash     bytea  NOT NULL,                -- hash of the last ledger row (genesis: sha256 of the id)
    business_day  date,                           -- the day the live state belongs to
    notices       jsonb  NOT NULL DEFAULT '[]'
);

CREATE TABLE service_counters (
    hall          text NOT NULL REFERENCES halls (id),
    business_day  date NOT NULL,
    service       text NOT NULL,
    last_seq      integer NOT NULL,
    PRIMARY KEY (hall, business_day, service)
);

CREATE TABLE tickets (
    id               text PRIMARY KEY,
    hall             text NOT NULL REFERENCES halls (id),
    business_day     date NOT NULL,
    prefix           text NOT NULL,
    seq              integer NOT NULL,
    service          text NOT NULL,
    issued_at        timestamptz NOT NULL,
    rank             bigint NOT NULL,
    channel          text NOT NULL,
    priority         text,
    priority_reason  text,
    status           text NOT NULL,
    window_no        integer,
    target_window    integer,
    calls            integer NOT NULL DEFAULT 0,
    first_called_at  timestamptz,
    last_called_at   timestamptz,
    started_at       timestamptz,
    finished_at      timestamptz,
    misses           integer NOT NULL DEFAULT 0,
    staff_id         text,
    note             text,
    -- numbering per hall x service prefix x business day, never reused
    UNIQUE (hall, business_day, prefix, seq)
);
CREATE INDEX tickets_live ON tickets (hall, business_day)
    WHERE status IN ('waiting', 'called', 'serving', 'missed', 'suspended');

CREATE TABLE windows (
    hall           text NOT NULL REFERENCES halls (id),
    number         integer NOT NULL,
    status         text NOT NULL,
    staff_id       text,
    staff_name     text,
    photo_url      text,
    stand_in_for   text,
    pause_reason   text,
    current_ticket text REFERENCES tickets (id),
    since          timestamptz,
    normal_streak  integer NOT NULL DEFAULT 1000000,
    PRIMARY KEY (hall, number)
);

CREATE TABLE ledger (
    hall           text NOT NULL REFERENCES halls (id),
    seq            bigint NOT NULL,
    at             timestamptz NOT NULL,
    kind           text NOT NULL,
    actor          jsonb NOT NULL,
    ticket_id      text,
    ticket_number  text,
    window_no      integer,
    payload        jsonb NOT NULL,
    public         jsonb NOT NULL,   -- the event as announced to screens
    prev_hash      bytea NOT NULL,
    hash           bytea NOT NULL,
    PRIMARY KEY (hall, seq)
);
CREATE INDEX ledger_calls ON ledger (hall, seq) WHERE kind IN ('ticket_called', 'ticket_recalled');
CREATE INDEX ledger_ticket ON ledger (ticket_id) WHERE ticket_id IS NOT NULL;

CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER ledger_no_update_or_delete BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only();

CREATE TABLE idempotency (
    hall          text NOT NULL,
    key           text NOT NULL,
    fingerprint   text NOT NULL,     -- principal + route + body: a reused key with another request is refused
    status        integer NOT NULL,
    body          jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hall, key)
);

CREATE TABLE staff (
    id             text PRIMARY KEY,          -- 工号
    hall           text,                      -- NULL: every hall (admin)
    name           text NOT NULL,
    role           text NOT NULL CHECK (role IN ('admin', 'manager', 'staff')),
    password_hash  text NOT NULL,
    photo_url      text,
    active         boolean NOT NULL DEFAULT true,
    failed_logins  integer NOT NULL DEFAULT 0,
    locked_until   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices (
    id          bigserial PRIMARY KEY,
    hall        text NOT NULL,
    role        text NOT NULL CHECK (role IN ('kiosk', 'display', 'printer', 'evaluator')),
    name        text NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,
    window_no   integer,
    kiosk       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    UNIQUE (hall, name)
);

CREATE TABLE sessions (
    token_hash  bytea PRIMARY KEY,
    staff_id    text NOT NULL REFERENCES staff (id),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
