"""Where a webhook may be sent: the URL's shape, and the addresses its host resolves to.

The server calls whatever URL a tenant's admin registers. Unchecked, that lets an
admin make it call its own loopback services, the cloud's metadata address
(169.254.169.254) or hosts of the private network behind it (server-side request
forgery). So a host must resolve only to public addresses, unless it is listed in
``RIGBOOK_WEBHOOK_ALLOWED_HOSTS``. The check runs when a URL is registered (in
production, where the host must also resolve) and again before every delivery,
since a name can resolve elsewhere by then (DNS rebinding); the delivery then
connects to the addresses that passed (``resolvers/webhooks/sending.py``), not to
whatever a second look-up would say.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from settings import Settings

MAX_URL_LENGTH = 2000
RESOLVE_TIMEOUT = 5.0
HOST_NAME = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]{0,251}[a-z0-9_])?\.?$")
ALLOW_HINT = "list the host in RIGBOOK_WEBHOOK_ALLOWED_HOSTS to allow it"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """The target may not be called (or cannot be found); the message says why."""


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: what the delivery connects to and asks for."""

    url: str
    scheme: str
    host: str  # lower-case; an IPv6 literal without its brackets
    port: int
    path: str  # the path and query, as sent in the request line

    def with_address(self, address: str) -> str:
        """The URL with its host replaced by ``address``: the connection goes to the checked address."""
        literal = f"[{address}]" if ":" in address else address
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        literal = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return literal if self.port == default else f"{literal}:{self.port}"


def parse_target(url: str, *, https_only: bool) -> Target | str:
    """The target ``url`` names, or what is wrong with it (a message for the admin)."""
    if len(url) > MAX_URL_LENGTH:
        return f"Must be at most {MAX_URL_LENGTH} characters long."
    if any(character.isspace() or ord(character) < 0x20 or ord(character) == 0x7F for character in url):
        return "Must not contain spaces or control characters."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Is not a valid URL."
    if port == 0:  # would otherwise read as "no port": the scheme's default
        return "Is not a valid URL."
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return "Must be an http:// or https:// URL."
    if https_only and scheme != "https":
        return "Must be an https:// URL."
    if parts.username is not None or parts.password is not None:
        return "Must not carry a user name or password."
    if parts.fragment:
        return "Must not have a #fragment."
    host = (parts.hostname or "").lower()
    if not host:
        return "Must name a host."
    if not host.isascii():
        return "Write the host in its ASCII (punycode) form."
    if not (_is_address(host) or HOST_NAME.match(host)):
        return "Does not name a valid host."
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(url, scheme, host, port or (443 if scheme == "https" else 80), path)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def non_public(address: IPAddress) -> str | None:
    """What kind of non-public address ``address`` is, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 reaches 127.0.0.1
        elif address.sixtofour is not None:
            address = address.sixtofour  # 2002:7f00:1:: is unwrapped by a 6to4 relay to 127.0.0.1
        elif address.is_site_local:
            return "site-local"  # fec0::/10: deprecated, but still routed inside some networks
    kinds = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    )
    for kind, matches in kinds:
        if matches:
            return kind
    return None if address.is_global else "non-public"


def allowed(settings: Settings, host: str) -> bool:
    return host in settings.webhook_allowed_hosts


async def resolve(target: Target, settings: Settings) -> list[str]:
    """The addresses to connect to for ``target``, in the resolver's order; all must be public.

    Every address is checked, not only the first: the connection tries the next one
    when one does not answer, and could otherwise be steered to a refused one.
    """
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            found = await asyncio.get_running_loop().getaddrinfo(
                target.host, target.port, type=socket.SOCK_STREAM
            )
    except (OSError, TimeoutError, UnicodeError) as error:
        raise Refused(f"The host {target.host} does not resolve.") from error
    addresses: list[IPAddress] = []
    for *_, sockaddr in found:
        # An IPv6 link-local address may carry its interface (fe80::1%eth0).
        address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Refused(f"The host {target.host} does not resolve.")
    if not allowed(settings, target.host):
        for address in addresses:
            kind = non_public(address)
            if kind is not None:
                raise Refused(f"The host {target.host} resolves to a {kind} address; {ALLOW_HINT}.")
    return [str(address) for address in addresses]


async def registration_problem(url: str, settings: Settings) -> str | None:
    """Why ``url`` cannot be registered, if it cannot.

    In production the host must resolve, to public addresses only (or be allowed);
    in development only the shape is checked here, and every delivery checks again.
    """
    target = parse_target(url, https_only=settings.is_production)
    if isinstance(target, str):
        return target
    if settings.is_production:
        try:
            await resolve(target, settings)
        except Refused as refusal:
            return str(refusal)
    return None
