-- Devices paired with a one-time code (配对码) instead of a token copied from a terminal, and
-- the devices list of the manager's console: what each device is (its kind), who registered
-- it, when it was last seen, who revoked it.
--
-- A pairing row lives for minutes: the device's page asks for a code, a manager enters it.
-- Only the hash of the device's future token is stored (the device holds the secret it is
-- made of), so nothing here lets anyone else act as the device. At most one live code of a
-- given value at a time (the index), so a code names exactly one waiting device.

ALTER TABLE devices
    ADD COLUMN kind          text,
    ADD COLUMN created_by    text,
    ADD COLUMN last_seen_at  timestamptz,
    ADD COLUMN revoked_by    text;

CREATE TABLE pairings (
    token_hash  bytea PRIMARY KEY,             -- sha256 of the token the device will use
    code        text NOT NULL CHECK (code ~ '^[0-9]{6}$'),
    kind        text NOT NULL,                 -- the page or client that asked (kiosk, hall_screen …)
    address     text,
    live        boolean NOT NULL DEFAULT true, -- false once paired or expired
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    paired_at   timestamptz,
    device_id   bigint REFERENCES devices (id)
);
CREATE UNIQUE INDEX pairings_live_code ON pairings (code) WHERE live;
CREATE INDEX pairings_expiry ON pairings (expires_at);

-- Wrong codes entered by each manager: past a few in ten minutes, no more attempts for a
-- while (a code has a million values; a manager's session must not be able to try them).
CREATE TABLE pairing_failures (
    staff_id  text NOT NULL,
    at        timestamptz NOT NULL
);
CREATE INDEX pairing_failures_staff ON pairing_failures (staff_id, at);
