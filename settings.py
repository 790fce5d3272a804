"""Configuration from the environment (``RIGBOOK_*``) and an optional ``.env`` file."""

from __future__ import annotations

import logging
import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = logging.getLogger("rigbook.settings")

MIN_JWT_SECRET_BYTES = 32
DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///./rigbook.db"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class WorkerMode(StrEnum):
    INLINE = "inline"
    OFF = "off"


class ConfigurationError(RuntimeError):
    """The configuration cannot be used (raised at start-up, never per request)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RIGBOOK_", env_file=".env", extra="ignore", frozen=True)

    env: Environment = Environment.DEVELOPMENT
    database_url: str = DEFAULT_SQLITE_URL
    migration_database_url: str | None = Field(
        default=None,
        description="PostgreSQL: the owner role `rigbook migrate` runs as; it then grants the role of "
        "database_url only the DML it needs",
    )
    jwt_secret: str | None = None
    jwt_issuer: str = "rigbook"
    jwt_audience: str = "rigbook-api"
    access_token_ttl: int = Field(default=900, ge=30, description="seconds")
    refresh_token_ttl: int = Field(default=14 * 86400, ge=60, description="seconds")
    session_max_age: int = Field(default=30 * 86400, ge=60, description="seconds")
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    allow_tenant_signup: bool = False
    introspection: bool | None = None
    graphiql: bool | None = None
    # GraphQL abuse limits, per document (schema/limits); the defaults let GraphiQL's
    # introspection query and a page of 100 rows with two nested lists through.
    max_query_depth: int = Field(default=12, ge=1)
    max_aliases: int = Field(default=30, ge=0)
    max_tokens: int = Field(default=2000, ge=1)
    max_directives: int = Field(default=50, ge=0)
    max_query_cost: int = Field(default=1_100_000, ge=1)
    max_fields: int = Field(default=500, ge=1)
    max_repeated_fields: int = Field(default=10, ge=1)
    # argon2id cost; the defaults are argon2-cffi's (RFC 9106 option 2).
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=65536, ge=1024)
    password_hash_parallelism: int = Field(default=4, ge=1)
    # Sign-in throttling (resolvers/throttle.py), each count per login_failure_window.
    login_max_failures_per_email: int = Field(
        default=5, ge=1, description="failed sign-ins per tenant+email from one client address"
    )
    login_max_failures_per_account: int = Field(
        default=100, ge=1, description="failed sign-ins per tenant+email from all addresses together"
    )
    login_max_failures_per_address: int = Field(
        default=50, ge=1, description="failed sign-ins per client address, all accounts together"
    )
    login_failure_window: int = Field(default=900, ge=1, description="seconds")
    anonymous_max_attempts_per_address: int = Field(
        default=30,
        ge=1,
        description="per client address and window: failed refreshToken/logout/resetPassword "
        "calls, and every requestPasswordReset and registerTenant",
    )
    # Enquiries from guests and customers (resolvers/enquiries.py), each count per enquiry_window.
    enquiry_max_per_address: int = Field(
        default=5, ge=1, description="submitEnquiry calls per client address"
    )
    enquiry_max_per_email: int = Field(default=3, ge=1, description="submitEnquiry calls per tenant+email")
    enquiry_window: int = Field(default=3600, ge=1, description="seconds")
    max_reservation_days: int = Field(default=366, ge=1)
    stats_max_days: int = Field(default=366, ge=1, le=3660, description="longest window `stats` answers")
    request_timeout: float = Field(default=30.0, gt=0, description="seconds per HTTP request")
    statement_timeout_ms: int = Field(
        default=15_000, ge=0, description="PostgreSQL statement_timeout; 0 = none"
    )
    # The database connections of one worker, and how long a request may wait for one
    # (to leave the pool or to be opened) before it is answered 503 SERVICE_UNAVAILABLE.
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    pool_timeout: float = Field(default=3.0, gt=0, le=60, description="seconds")
    # Slow clients (``web/server.py``, ``web/middleware.py``): per worker and connection.
    max_connections: int = Field(default=1000, ge=1, description="open connections served at once")
    header_timeout: float = Field(default=10.0, gt=0, le=300, description="seconds for a request's headers")
    body_timeout: float = Field(default=15.0, gt=0, le=300, description="seconds for a request's body")
    keep_alive_timeout: int = Field(default=5, ge=1, le=300, description="seconds an idle connection stays")
    redis_url: str | None = None
    redis_key_prefix: str = Field(
        default="rigbook", min_length=1, max_length=100, description="namespace of Rigbook's Redis keys"
    )
    password_reset_ttl: int = Field(default=3600, ge=60, description="seconds")
    password_reset_url: str | None = Field(
        default=None,
        description="link template for reset mails, with {token}, e.g. https://app.example/reset?token={token}",
    )
    email_verification_ttl: int = Field(default=86400, ge=300, le=604800, description="seconds")
    email_verification_url: str | None = Field(
        default=None,
        max_length=500,
        description="link template for address-verification mails, with {token}, e.g. https://app.example/verify?token={token}",
    )
    design_share_url: str | None = Field(
        default=None,
        max_length=500,
        description="link template for mailed share links, with {token}, e.g. https://app.example/shared?token={token}",
    )
    smtp_url: str | None = Field(
        default=None, description="smtp://user:pass@host:587 (STARTTLS) or smtps://…"
    )
    mail_from: str = "Rigbook <no-reply@rigbook.example>"
    assumed_token_ttl: int = Field(
        default=900, ge=30, description="seconds an operator's assumeTenant token lives"
    )
    # At most the schema's cap on `lines` and `items` (schema/types/reservation_inputs.py).
    max_reservation_lines: int = Field(default=100, ge=1, le=1000)
    # Equipment import (resolvers/equipment_import.py).
    max_import_size: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="bytes of CSV `importEquipment` takes; the 1 MiB request body cap bounds it too",
    )
    max_import_file_size: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        le=256 * 1024 * 1024,
        description="bytes of CSV `rigbook import` reads",
    )
    # Each row written costs ~2-4 ORM rows (equipment, units, their audit entries and event jobs).
    max_import_rows: int = Field(default=2000, ge=1, le=100_000, description="rows one import takes")

    # Background work (resolvers/jobs): where the worker runs, how much at once, for how long.
    worker: WorkerMode | None = Field(
        default=None,
        description="inline: `rigbook serve` also runs the worker; off: only `rigbook worker` does. "
        "Default: inline in development and on SQLite, off in production on PostgreSQL",
    )
    worker_concurrency: int = Field(default=4, ge=1, le=64, description="jobs one worker runs at once")
    job_lease: float = Field(
        default=60.0, ge=1, le=3600, description="seconds a claimed job stays claimed without renewal"
    )
    worker_poll_interval: float = Field(
        default=5.0, ge=0.1, le=300, description="seconds between looks for due jobs when not woken"
    )
    worker_shutdown_grace: float = Field(
        default=20.0, ge=0, le=600, description="seconds a stopping worker lets running jobs finish"
    )
    # Reservations that move without a request (resolvers/jobs/expiry.py, reminders.py).
    pickup_reminder_hours: int = Field(
        default=24,
        ge=1,
        le=720,
        description="hours before a CONFIRMED reservation starts that its pickup reminder goes out",
    )
    reservation_job_batch: int = Field(
        default=200,
        ge=1,
        le=5000,
        description="reservations one transaction of the expiry and reminder jobs changes at most",
    )
    ops_token: str | None = Field(
        default=None,
        min_length=32,
        description="the bearer token /health/detailed asks for (required in production, where without it "
        "the page is closed; outside production the page is open unless this is set)",
    )
    build_commit: str | None = Field(
        default=None,
        max_length=64,
        description="the commit the running code was built from, shown to operators",
    )
    worker_heartbeat_file: Path | None = Field(
        default=None,
        description="a file `rigbook worker` touches on every turn of its loop (a container health check)",
    )
    # Live updates (web/live_socket.py, resolvers/live/): per serving process and connection.
    listen_database_url: str | None = Field(
        default=None,
        description="PostgreSQL: where the LISTEN connections of live updates and the job worker connect "
        "(a direct or session-pooled address: LISTEN does not work through PgBouncer in transaction "
        "mode); default: database_url",
    )
    ws_max_subscriptions: int = Field(
        default=20, ge=1, le=1000, description="subscriptions one WebSocket connection holds at once"
    )
    ws_max_connections_per_user: int = Field(
        default=10, ge=1, le=100_000, description="WebSocket connections one user holds on one process"
    )
    ws_max_connections_per_tenant: int = Field(
        default=1000, ge=1, le=1_000_000, description="WebSocket connections one tenant holds on one process"
    )
    ws_init_timeout: float = Field(
        default=10.0, gt=0, le=300, description="seconds a new WebSocket has to send `connection_init`"
    )
    ws_ping_interval: float = Field(
        default=15.0, gt=0, le=3600, description="seconds between the server's keep-alive pings"
    )
    ws_send_buffer: int = Field(
        default=256,
        ge=1,
        le=100_000,
        description="messages waiting for a slow WebSocket client before it is disconnected",
    )
    ws_max_message_size: int = Field(
        default=64 * 1024, ge=1024, le=16 * 1024 * 1024, description="bytes of one message a client sends"
    )
    ws_grant_check_interval: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="seconds between checks that each connected user's session is still live",
    )
    # Webhooks (resolvers/webhooks): hosts whose private or loopback addresses may be called.
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        max_length=100,
        description="comma-separated host names (as written in webhook URLs) that may resolve to "
        "loopback, private, link-local or other non-public addresses; every other webhook host must "
        "resolve only to public addresses",
    )

    # Files (db/storage.py, resolvers/attachments.py).
    storage_url: str = Field(
        default="file://./data/files",
        max_length=1000,
        description="where files are kept: file://<dir> (relative to the working directory) or "
        "s3://bucket[/prefix]",
    )
    storage_endpoint: str | None = Field(
        default=None,
        max_length=1000,
        description="S3-compatible endpoint URL; default: AWS (or AWS_ENDPOINT_URL)",
    )
    storage_region: str | None = Field(
        default=None, max_length=100, description="S3 region; default: AWS_REGION"
    )
    storage_access_key_id: str | None = Field(
        default=None, max_length=256, description="S3 access key; default: AWS_ACCESS_KEY_ID"
    )
    storage_secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret key; default: AWS_SECRET_ACCESS_KEY"
    )

    max_upload_size: int = Field(
        default=10 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024, description="bytes of one uploaded file"
    )
    upload_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["image/jpeg", "image/png", "image/webp", "application/pdf"],
        max_length=10,
        description="comma-separated content types accepted (from the file's magic bytes): "
        "image/jpeg, image/png, image/webp, application/pdf",
    )
    max_image_pixels: int = Field(
        default=40_000_000, ge=1, le=200_000_000, description="width × height of an uploaded image at most"
    )
    tenant_storage_quota: int = Field(
        default=1024 * 1024 * 1024, ge=0, description="bytes of files one tenant may keep (originals)"
    )
    file_link_ttl: int = Field(
        default=3600, ge=60, le=7 * 86400, description="seconds a signed file link (url, thumbnailUrl) works"
    )
    image_workers: int = Field(
        default=2, ge=1, le=64, description="images decoded at once per process (threads off the event loop)"
    )

    @field_validator("design_share_url")
    @classmethod
    def _one_token_placeholder(cls, value: str | None) -> str | None:
        # Checked at start: a template that does not format would fail every share made with a recipient.
        if value is not None:
            try:
                formatted = value.format(token="\0")
            except (KeyError, IndexError, ValueError) as error:
                raise ValueError("must contain {token} and no other placeholder") from error
            if "\0" not in formatted:
                raise ValueError("must contain {token}")
        return value

    # Housekeeping (resolvers/housekeeping.py, daily): how long finished or dead rows are
    # kept before they are deleted, counted from when they ended. The audit trail and
    # monthly reports are never deleted.
    retention_days_jobs: int = Field(default=7, ge=1, le=3650, description="days a DONE job is kept")
    retention_days_dead_jobs: int = Field(default=30, ge=1, le=3650, description="days a DEAD job is kept")
    retention_days_sessions: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="days expired or revoked sign-in sessions and refresh tokens are kept",
    )
    retention_days_password_resets: int = Field(
        default=1, ge=1, le=3650, description="days used or expired password-reset tokens are kept"
    )
    retention_days_shares: int = Field(
        default=90, ge=1, le=3650, description="days expired or revoked design share links are kept"
    )
    retention_days_mail: int = Field(
        default=14,
        ge=1,
        le=3650,
        description="days outbox mail is kept once sent, expired or given up",
    )
    retention_days_webhook_deliveries: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="days a webhook delivery (and the payload it holds) is kept once delivered or failed",
    )
    housekeeping_batch_size: int = Field(
        default=1000, ge=1, le=100_000, description="rows deleted per statement (one short transaction)"
    )
    housekeeping_max_batches: int = Field(
        default=100,
        ge=1,
        le=100_000,
        description="batches per table (and tenant) in one run; the rest waits for the next day",
    )

    # Tenant exports (resolvers/exports): the most one archive may hold, uncompressed.
    export_max_bytes: int = Field(
        default=2 * 1024**3, ge=1024, description="bytes of files (uncompressed) one export may hold"
    )
    export_keep_hours: int = Field(
        default=72, ge=1, le=24 * 90, description="hours an export's ZIP can be downloaded once it is ready"
    )
    export_link_ttl: int = Field(
        default=24 * 3600, ge=60, description="seconds a download link (mailed or shown) stays valid"
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        max_length=500,
        description="the server's address as clients reach it, for download links in mail",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("upload_types", mode="before")
    @classmethod
    def _split_types(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip().lower() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            known = {"image/jpeg", "image/png", "image/webp", "application/pdf"}
            unknown = [str(part) for part in value if part not in known]
            if unknown:
                raise ValueError(f"unknown upload types {unknown[:3]}; known: {sorted(known)}")
        return value

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            hosts = [str(host).strip().lower().removeprefix("[").removesuffix("]") for host in value]
            for host in hosts:
                if len(host) > 253:
                    raise ValueError(f"a webhook host is at most 253 characters: {host[:40]}…")
            return [host for host in hosts if host]
        return value

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def worker_inline(self) -> bool:
        """Whether ``rigbook serve`` runs the worker in its own process."""
        if self.worker is not None:
            return self.worker is WorkerMode.INLINE
        return not self.is_production or self.database_url.startswith("sqlite")

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else not self.is_production

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.is_production

    @cached_property
    def signing_key(self) -> str:
        """The JWT secret; development invents one, production insists on a strong one."""
        if self.jwt_secret is not None and len(self.jwt_secret.encode()) >= MIN_JWT_SECRET_BYTES:
            return self.jwt_secret
        if self.is_production:
            raise ConfigurationError(
                f"RIGBOOK_JWT_SECRET must be set to at least {MIN_JWT_SECRET_BYTES} bytes "
                "in production (try: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if self.jwt_secret is not None:
            log.warning("RIGBOOK_JWT_SECRET is shorter than %d bytes", MIN_JWT_SECRET_BYTES)
            return self.jwt_secret
        log.warning(
            "RIGBOOK_JWT_SECRET is not set: using a random secret for this process "
            "(tokens stop working on restart)"
        )
        return secrets.token_urlsafe(48)

    def validate_for_start(self) -> None:
        """Fail fast on configuration that must never serve requests."""
        _ = self.signing_key
