-- Staff accounts managed from the manager's console (issue 11 point 3): a one-time password
-- forces a change at the next sign-in, photos are kept in the database (served to the window
-- screens), and every change to an account is a row of its own hash-chained ledger.
--
-- Why not the hall ledger: an account is not an event of one hall. Admins and street/district
-- managers belong to no hall, an account may move from one hall to another (its history would
-- split over two chains), and a hall's ledger rows are announced to its screens. The staff
-- ledger is one chain for the whole server, append-only like the hall ledger (same trigger,
-- same rights for the server's role), and checked the same way (domain/staff_ledger.py).

ALTER TABLE staff ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;

CREATE TABLE staff_photos (
    staff_id      text PRIMARY KEY REFERENCES staff (id),
    content_type  text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    data          bytea NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE staff_ledger (
    seq        bigint PRIMARY KEY,
    at         timestamptz NOT NULL,
    kind       text NOT NULL,
    actor      jsonb NOT NULL,
    staff_id   text NOT NULL,
    payload    jsonb NOT NULL,
    prev_hash  bytea NOT NULL,
    hash       bytea NOT NULL
);
CREATE INDEX staff_ledger_staff ON staff_ledger (staff_id, seq);

CREATE TRIGGER staff_ledger_no_update_or_delete BEFORE UPDATE OR DELETE ON staff_ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER staff_ledger_no_truncate BEFORE TRUNCATE ON staff_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only();

REVOKE ALL ON staff_ledger FROM hall_queue_app;
GRANT SELECT, INSERT ON staff_ledger TO hall_queue_app;
