"""Who the caller is: passwords (argon2), tokens (JWT access, opaque refresh), principals,
sign-in throttling, and the services built once per process."""
