"""Names, credentials and URL helpers shared by the seed, the baseline and the runner."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

# A fixed, clearly fake signing key (>= 32 bytes, as production requires). Both
# servers verify with it; it never leaves the benchmark.
JWT_SECRET = "rigbook-bench-only-signing-key-0123456789abcdefghijklmnop"

TENANT_PREFIX = "bench"
STAFF_PASSWORD = "Bench-Staff-Pass-2024"  # admin, manager and staff of every bench tenant
CUSTOMER_PASSWORD = "Bench-Customer-Pass-2024"  # every customer of every bench tenant
CUSTOMERS_PER_TENANT = 20
# A login role without superuser or BYPASSRLS, so that row-level security applies to it.
APP_ROLE = "rigbook_bench_app"


def tenant_slug(index: int) -> str:
    return f"{TENANT_PREFIX}{index}"


def admin_email(slug: str) -> str:
    return f"admin@{slug}.example"


def sqlalchemy_url(url: str) -> str:
    """``postgresql+asyncpg://...`` as Rigbook's settings expect."""
    scheme, rest = _split_scheme(url)
    if scheme not in {"postgresql", "postgres", "postgresql+asyncpg"}:
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    return f"postgresql+asyncpg://{rest}"


def asyncpg_url(url: str) -> str:
    """``postgresql://...`` as asyncpg expects."""
    sqlalchemy_url(url)  # validates
    return f"postgresql://{_split_scheme(url)[1]}"


def database_name(url: str) -> str:
    return urlsplit(asyncpg_url(url)).path.lstrip("/")


def with_user(url: str, user: str) -> str:
    """The same URL connecting as ``user`` (without a password: trust or peer auth)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, parts.query, parts.fragment))


def with_host_port(url: str, host: str, port: int) -> str:
    """The same URL pointing at another host and port (for the counting proxy)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _split_scheme(url: str) -> tuple[str, str]:
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    return scheme.lower(), rest


def rigbook_jwt_audience_issuer() -> tuple[str, str]:
    """Rigbook's default JWT audience and issuer (``RIGBOOK_JWT_AUDIENCE``/``_ISSUER``)."""
    from settings import Settings

    fields = Settings.model_fields
    return str(fields["jwt_audience"].default), str(fields["jwt_issuer"].default)
