"""Which attempt budgets anonymous work spends, and when it gets them back.

* Sign-in (``login``, and the current password in ``changePassword``) spends three
  budgets at once: per account from this client address (tight: guessing from one
  address never locks the owner out elsewhere), per account from all addresses
  (looser: bounds guessing from many), and per address (one address guessing many
  accounts). A success gives its slots back; failures count until they age out.
* Every other anonymous mutation spends the per-address anonymous budget: token
  mutations (``refreshToken``, ``logout``, ``resetPassword``) get their slot back
  when they succeed (``verifyEmail`` too); ``registerTenant``, ``requestPasswordReset``
  and ``signUp`` never do, and the last two also spend the budget of mails one
  account's address may be sent unasked (``account_mail``), as does ``changeEmail``
  for the address it names.
* ``submitEnquiry`` from anyone but staff spends an enquiry budget per address and
  one per tenant+email, and never gets them back (an enquiry is work for staff).

The slot is taken before the work and ends the request's read first: the limiter
opens a connection of its own, and a request never holds two.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from auth.rate_limit import Attempt, Charge
from resolvers.context import Context
from resolvers.errors import RateLimited

# Addresses inside one IPv6 /64 belong to one subscriber: one budget for all of them.
IPV6_SUBSCRIBER_PREFIX = 64


def address_key(address: str) -> str:
    """The client address as throttles count it (an IPv6 address by its /64)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_SUBSCRIBER_PREFIX), strict=False))
    return str(parsed)


def account_key(tenant_slug: str | None, email: str) -> str:
    """A sign-in account as ``login`` names it: tenant slug (empty for operators) and email."""
    return f"{(tenant_slug or '').strip().lower()}\x00{email}"


def sign_in(context: Context, account: str) -> tuple[Charge, ...]:
    """The budgets one sign-in to ``account`` (see ``account_key``) spends."""
    budgets = context.services.budgets
    address = address_key(context.client_address)
    return (
        budgets.sign_in_per_address.charge(address),
        budgets.sign_in_per_account_and_address.charge(f"{account}\x00{address}"),
        budgets.sign_in_per_account.charge(account),
    )


def anonymous(context: Context) -> tuple[Charge, ...]:
    return (context.services.budgets.anonymous_per_address.charge(address_key(context.client_address)),)


def account_mail(context: Context, account: str) -> tuple[Charge, ...]:
    """A mail to ``account``'s address that a stranger asked for (reset, sign-up, change of address)."""
    return (context.services.budgets.reset_mails_per_account.charge(account),)


def reset_mail(context: Context, account: str) -> tuple[Charge, ...]:
    return (*anonymous(context), *account_mail(context, account))


def sign_up(context: Context, account: str) -> tuple[Charge, ...]:
    """A sign-up: the client address's anonymous budget, and the mails of the address it names."""
    return reset_mail(context, account)


def enquiry(context: Context, account: str) -> tuple[Charge, ...]:
    """The budgets one enquiry from ``account`` (see ``account_key``) spends."""
    budgets = context.services.budgets
    return (
        budgets.enquiries_per_address.charge(address_key(context.client_address)),
        budgets.enquiries_per_email.charge(account),
    )


async def take(context: Context, charges: Sequence[Charge]) -> Attempt:
    """A slot of every charge, or ``RateLimited`` with the wait."""
    await context.end_read()
    attempt = await context.services.attempts.acquire(charges)
    if not attempt.granted:
        raise RateLimited(attempt.retry_after)
    return attempt


async def succeeded(context: Context, attempt: Attempt) -> None:
    """Give the slots of work that succeeded back (after its transaction has ended)."""
    await context.services.attempts.forgive(attempt)
