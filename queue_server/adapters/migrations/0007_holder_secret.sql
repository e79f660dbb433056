-- The ticket holder's secret: the key in the URL of the ticket's QR code and phone page, and the
-- only key for acting as the citizen (rate, cancel, follow-up rating, live status). Distinct
-- from the ticket's id, which staff, devices and the ledger see. Tickets issued before this
-- migration get a fresh random secret (their old links, built from the id, stop working).
ALTER TABLE tickets ADD COLUMN holder_secret text;
UPDATE tickets SET holder_secret = rtrim(translate(encode(decode(
        replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'), 'base64'),
    '+/', '-_'), '=')
    WHERE holder_secret IS NULL;
ALTER TABLE tickets ALTER COLUMN holder_secret SET NOT NULL;
CREATE UNIQUE INDEX tickets_holder_secret ON tickets (holder_secret);
