"""hall-queue."""
