"""Support code for the tests: real services (PostgreSQL, Redis) and the helpers around them."""
