-- Hall notices carry start and end times (items in halls.notices) and a version: a manager
-- replaces the list only as of the version they read, so two editors never overwrite each other.

ALTER TABLE halls ADD COLUMN notices_version integer NOT NULL DEFAULT 0;
