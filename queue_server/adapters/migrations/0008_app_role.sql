-- The role the server runs as: everything it needs on the live tables, but on the ledger only
-- INSERT and SELECT. It owns nothing, so it can neither DISABLE TRIGGER nor drop or alter a
-- table; migrations keep running as the owner (the role that runs this file).
--
-- Roles are cluster-wide: the role may already exist (created by the DBA with LOGIN and a
-- password, or by another database's migration); it is created NOLOGIN only when missing.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hall_queue_app') THEN
        CREATE ROLE hall_queue_app NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN
        NULL;  -- created at the same moment by a migration of another database
    WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'role hall_queue_app does not exist and % may not create it', current_user
            USING HINT = 'as a superuser: CREATE ROLE hall_queue_app LOGIN PASSWORD ''…''; then run queue-server migrate again';
END;
$$;

GRANT USAGE ON SCHEMA public TO hall_queue_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO hall_queue_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO hall_queue_app;

-- The ledger: append and read, nothing else. schema_migrations: read (the server checks
-- that the schema is current), never written by the server.
REVOKE ALL ON ledger FROM hall_queue_app;
GRANT SELECT, INSERT ON ledger TO hall_queue_app;
REVOKE ALL ON schema_migrations FROM hall_queue_app;
GRANT SELECT ON schema_migrations TO hall_queue_app;

-- Tables and sequences later migrations create (as this same owner) get the same rights;
-- a later append-only table must REVOKE UPDATE, DELETE from hall_queue_app as above.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO hall_queue_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO hall_queue_app;
