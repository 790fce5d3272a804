"""The test suite: database tests run on SQLite, and on PostgreSQL too when
``RIGBOOK_TEST_DATABASE_URL`` is set."""
