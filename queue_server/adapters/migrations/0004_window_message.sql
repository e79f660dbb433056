-- A short message the clerk on duty shows on the window screen (taboo-checked by the server).
ALTER TABLE windows ADD COLUMN message text;
