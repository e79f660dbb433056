"""Tests of the ticket printer client: layout, ESC/POS bytes, transport, job bookkeeping."""
