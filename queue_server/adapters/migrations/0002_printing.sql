-- Kiosk printing: print jobs created in the issuing transaction, kept until printed,
-- and the last reported state of each device (printer online, paper, cover).

CREATE TABLE print_jobs (
    id                   text PRIMARY KEY,
    hall                 text NOT NULL REFERENCES halls (id),
    kiosk                text NOT NULL,
    ticket_id            text NOT NULL REFERENCES tickets (id),
    content              jsonb NOT NULL,
    reprint_of           text REFERENCES print_jobs (id),
    status               text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'printed', 'cancelled')),
    attempts             integer NOT NULL DEFAULT 0,
    error                text,
    created_at           timestamptz NOT NULL,
    delivered_at         timestamptz,
    finished_at          timestamptz,
    overdue_reported_at  timestamptz
);
CREATE INDEX print_jobs_pending ON print_jobs (hall, kiosk, created_at) WHERE status = 'pending';
CREATE INDEX print_jobs_ticket ON print_jobs (ticket_id);

CREATE TABLE device_status (
    hall        text NOT NULL,
    name        text NOT NULL,
    role        text NOT NULL,
    kiosk       text,
    status      jsonb NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (hall, name)
);
