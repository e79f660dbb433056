-- The hall sequence number at which each ticket and window row last changed, so a server
-- process whose cached state is behind reads only what changed since (not the whole hall).
ALTER TABLE tickets ADD COLUMN changed_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE windows ADD COLUMN changed_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX tickets_changed ON tickets (hall, changed_seq);
