"""The database: SQLModel tables, the engine and its transactions, tenant-scoped reads,
row-level security, roles and migrations."""
