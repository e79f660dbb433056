-- A print job not printed within [printing] job_ttl_seconds expires: it is never printed
-- afterwards (a printer that comes back hours later must not print the day's old tickets).
ALTER TABLE print_jobs DROP CONSTRAINT print_jobs_status_check;
ALTER TABLE print_jobs ADD CONSTRAINT print_jobs_status_check
    CHECK (status IN ('pending', 'printed', 'cancelled', 'expired'));
