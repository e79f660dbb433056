-- Performance review (服务绩效): a projection of the ledger that reports read instead of the
-- ledger itself. One row per ticket visit and one per window session, written in the same
-- transaction as the ledger rows they come from; `queue-server rebuild-stats` rebuilds both
-- from the ledger alone (domain/review.py has the rules, adapters/stats.py the SQL).

-- What one batch says about a ticket (domain/review.py VISIT_COLUMNS, in this order).
CREATE TYPE stat_visit_patch AS (
    ticket_id        text,
    hall             text,
    business_day     date,
    number           text,
    issued_at        timestamptz,
    issued_service   text,
    channel          text,
    priority         text,
    first_called_at  timestamptz,
    call_window      integer,
    call_staff       text,
    started_at       timestamptz,
    finished_at      timestamptz,
    window_no        integer,
    staff_id         text,
    finish_service   text,
    status           text,
    closed_from      text,
    rating           smallint,
    rated_at         timestamptz,
    follow_up        text,
    callback_due     timestamptz,
    rectify_due      timestamptz,
    called_back_at   timestamptz,
    rectified_at     timestamptz,
    last_seq         bigint
);

CREATE TABLE stat_visits (
    ticket_id        text PRIMARY KEY,
    hall             text,
    business_day     date,
    number           text,
    issued_at        timestamptz,
    issued_service   text,
    channel          text,
    priority         text,
    first_called_at  timestamptz,
    call_window      integer,
    call_staff       text,
    started_at       timestamptz,
    finished_at      timestamptz,
    window_no        integer,
    staff_id         text,
    finish_service   text,
    status           text,
    closed_from      text,
    rating           smallint,
    rated_at         timestamptz,
    follow_up        text,
    callback_due     timestamptz,
    rectify_due      timestamptz,
    called_back_at   timestamptz,
    rectified_at     timestamptz,
    last_seq         bigint NOT NULL,
    -- attribution (domain/review.py): finished under, else issued for; finished at, else first called at
    service          text GENERATED ALWAYS AS (coalesce(finish_service, issued_service)) STORED,
    win              integer GENERATED ALWAYS AS (coalesce(window_no, call_window)) STORED,
    staff            text GENERATED ALWAYS AS (CASE WHEN window_no IS NOT NULL THEN staff_id ELSE call_staff END) STORED,
    wait_s           double precision GENERATED ALWAYS AS (extract(epoch FROM first_called_at - issued_at)) STORED,
    handle_s         double precision GENERATED ALWAYS AS (extract(epoch FROM finished_at - started_at)) STORED
);
CREATE INDEX stat_visits_day ON stat_visits (hall, business_day);
CREATE INDEX stat_visits_follow_up ON stat_visits (follow_up) WHERE follow_up IS NOT NULL;

CREATE TABLE stat_sessions (
    hall          text NOT NULL,
    window_no     integer NOT NULL,
    opened_at     timestamptz NOT NULL,
    business_day  date NOT NULL,
    day_end       timestamptz NOT NULL,
    staff_id      text,
    closed_at     timestamptz,
    pause_s       double precision NOT NULL DEFAULT 0,
    pause_count   integer NOT NULL DEFAULT 0,
    paused_since  timestamptz,
    PRIMARY KEY (hall, window_no, opened_at)
);
CREATE INDEX stat_sessions_day ON stat_sessions (hall, business_day);
CREATE INDEX stat_sessions_open ON stat_sessions (hall, window_no) WHERE closed_at IS NULL;

-- The server's role (0008) writes the projection with the ledger.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'hall_queue_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON stat_visits, stat_sessions TO hall_queue_app;
    END IF;
END;
$$;
