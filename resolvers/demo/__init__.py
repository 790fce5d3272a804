"""Demo data for development: tenants, accounts, catalogues, reservations and designs."""
