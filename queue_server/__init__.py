"""Queue and window-dispatch service for government service halls."""
