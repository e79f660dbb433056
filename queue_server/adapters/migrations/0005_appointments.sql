-- Appointments (预约): booked for a slot, checked in at the kiosk or desk by code, which
-- issues a ticket of the 'appointment' priority class in the same transaction.
CREATE TABLE appointments (
    id             text PRIMARY KEY,
    hall           text NOT NULL REFERENCES halls (id),
    code           text NOT NULL,
    service        text NOT NULL,
    slot_start     timestamptz NOT NULL,
    slot_end       timestamptz NOT NULL,
    status         text NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'checked_in', 'cancelled')),
    ticket_id      text REFERENCES tickets (id),
    created_at     timestamptz NOT NULL,
    checked_in_at  timestamptz,
    CHECK (slot_end > slot_start)
);
CREATE UNIQUE INDEX appointments_code ON appointments (hall, code) WHERE status = 'booked';
