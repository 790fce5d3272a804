"""``bench live``'s pure logic: the subscriber mix, who is entitled to which event, and the figures.

Nothing here opens a socket or a database connection, so ``tests/test_bench_harness.py``
checks it directly.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Who subscribes, in the order the mix is listed:
#   staff         staff, managers and admins of the booking tenant, on `reservationEvents` (a calendar)
#   customer      customers of that tenant on `reservationEvents` (entitled to their own reservations only)
#   other_tenant  staff of another tenant on `reservationEvents` (entitled to nothing of the burst)
#   availability  staff of the booking tenant on `availabilityChanged` for one item the burst books
KINDS = ("staff", "customer", "other_tenant", "availability")
# Shares of every kind but staff, which takes the rest.
SHARES = {"customer": 0.1, "other_tenant": 0.1, "availability": 0.1}
RESERVATION_KINDS = frozenset({"staff", "customer", "other_tenant"})

# An expected or received event: (reservation id, event type) for `reservationEvents`,
# the reservation id (seen holding the item) for `availabilityChanged`.
Key = tuple[str, str] | str


def plan_mix(total: int) -> dict[str, int]:
    """How many subscribers of each kind ``total`` subscribers make (every kind at least one)."""
    if total < len(KINDS):
        raise ValueError(f"at least {len(KINDS)} subscribers, one of each kind")
    others = {kind: max(1, round(total * share)) for kind, share in SHARES.items()}
    return {"staff": total - sum(others.values()), **others}


def users_for(connections: int, per_user: int) -> int:
    """Distinct users behind ``connections`` sockets when each user holds ``per_user`` of them."""
    return max(1, math.ceil(connections / per_user))


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` (0..1) percentile, interpolated between closest ranks; None when empty."""
    if not values:
        return None
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be between 0 and 1")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """Count, p50/p90/p99, max, mean and min of delays, in milliseconds."""

    def ms(value: float | None) -> float | None:
        return None if value is None else round(1000 * value, 3)

    return {
        "count": len(seconds),
        "p50_ms": ms(percentile(seconds, 0.5)),
        "p90_ms": ms(percentile(seconds, 0.9)),
        "p99_ms": ms(percentile(seconds, 0.99)),
        "max_ms": ms(max(seconds)) if seconds else None,
        "min_ms": ms(min(seconds)) if seconds else None,
        "mean_ms": ms(sum(seconds) / len(seconds)) if seconds else None,
    }


@dataclass(frozen=True)
class Change:
    """What one mutation of the burst changed, and when its response arrived (the commit is before)."""

    reservation_id: str
    event_type: str  # the ReservationEventType subscribers should see: CREATED, CONFIRMED
    customer_id: str | None  # the reservation's customer (User global id)
    equipment_id: str
    holds: bool  # whether the reservation holds the item's stock after the change
    started: float  # time.monotonic() when the request was sent
    responded: float  # ... and when its response had been read


@dataclass(frozen=True)
class Received:
    """One `next` message of a subscription, as the subscriber saw it."""

    arrival: float  # time.monotonic() when the frame was read
    event_type: str | None  # reservationEvents: the type; availabilityChanged: None
    reservation_id: str | None  # reservationEvents: the reservation's id (None for REFETCH)
    holders: tuple[str, ...] | None = None  # availabilityChanged: `reservations { id }`
    errors: bool = False  # the payload carried `errors`


def expected_keys(
    kind: str, principal: str, equipment_id: str | None, changes: Iterable[Change]
) -> dict[Key, float]:
    """What a subscriber is entitled to receive of ``changes``, each with the response time it follows."""
    expected: dict[Key, float] = {}
    for change in changes:
        if kind == "staff" or (kind == "customer" and change.customer_id == principal):
            expected[(change.reservation_id, change.event_type)] = change.responded
        elif kind == "availability" and change.equipment_id == equipment_id and change.holds:
            # The first message that names the reservation among the holders; later ones repeat it.
            expected.setdefault(change.reservation_id, change.responded)
    return expected


def received_keys(kind: str, message: Received) -> list[Key]:
    if kind in RESERVATION_KINDS:
        if message.reservation_id is None or message.event_type is None:
            return []
        return [(message.reservation_id, message.event_type)]
    return list(message.holders or ())


@dataclass
class Accounting:
    """One subscriber's (or a group's) received events against those it is entitled to."""

    subscribers: int = 0
    messages: int = 0  # `next` messages received
    expected: int = 0  # events entitled to
    delivered: int = 0  # entitled events received (the first time)
    missing: int = 0  # entitled events never received
    extra: int = 0  # leaked + duplicates + unknown
    leaked: int = 0  # events of the burst's reservations the subscriber is not entitled to
    duplicates: int = 0  # entitled events received again
    unknown: int = 0  # events of reservations no successful mutation of the burst returned
    refetch: int = 0  # REFETCH events (the server lost its LISTEN connection)
    errors: int = 0  # messages with GraphQL errors, `error` messages
    latencies: list[float] = field(default_factory=list)  # arrival - response, per delivered event

    def add(self, other: Accounting) -> None:
        self.subscribers += other.subscribers
        self.messages += other.messages
        self.expected += other.expected
        self.delivered += other.delivered
        self.missing += other.missing
        self.extra += other.extra
        self.leaked += other.leaked
        self.duplicates += other.duplicates
        self.unknown += other.unknown
        self.refetch += other.refetch
        self.errors += other.errors
        self.latencies.extend(other.latencies)

    def to_json(self) -> dict[str, Any]:
        return {
            "subscribers": self.subscribers,
            "messages": self.messages,
            "expected": self.expected,
            "delivered": self.delivered,
            "missing": self.missing,
            "extra": self.extra,
            "leaked": self.leaked,
            "duplicates": self.duplicates,
            "unknown": self.unknown,
            "refetch": self.refetch,
            "errors": self.errors,
            "latency": latency_summary(self.latencies),
        }


def account(
    kind: str,
    expected: Mapping[Key, float],
    messages: Iterable[Received],
    known: Collection[str] = frozenset(),
) -> Accounting:
    """Compare what one subscriber received with what it is entitled to.

    ``known``: the reservations the burst's successful mutations returned; anything else
    received is ``unknown`` (e.g. a mutation that committed but answered with an error).
    `reservationEvents`: each (reservation, type) once; a second copy is a duplicate, a known
    reservation's event the subscriber is not entitled to is leaked.
    `availabilityChanged`: each entitled reservation must appear among the holders of some message
    (its latency is that of the first such message); a holder that is not entitled counts once,
    a holder that reappears in later messages is no duplicate (every message lists all holders).
    """
    result = Accounting(subscribers=1, expected=len(expected))
    first: dict[Key, float] = {}
    for message in messages:
        result.messages += 1
        if message.errors:
            result.errors += 1
            continue
        if kind in RESERVATION_KINDS and message.event_type == "REFETCH":
            result.refetch += 1
            continue
        for key in received_keys(kind, message):
            if key in expected:
                if key not in first:
                    first[key] = message.arrival
                elif kind in RESERVATION_KINDS:
                    result.duplicates += 1
                continue
            if kind not in RESERVATION_KINDS and key in first:
                continue  # an unentitled holder, listed again
            first.setdefault(key, message.arrival)
            reservation = key[0] if isinstance(key, tuple) else key
            if reservation in known:
                result.leaked += 1
            else:
                result.unknown += 1
    result.extra = result.leaked + result.duplicates + result.unknown
    delivered = [key for key in expected if key in first]
    result.delivered = len(delivered)
    result.missing = len(expected) - len(delivered)
    result.latencies = [first[key] - expected[key] for key in delivered]
    return result


def parse_proc_net_tcp(text: str, port: int) -> dict[int, int]:
    """Established TCP sockets whose local port is ``port`` in ``/proc/net/tcp`` text: inode -> peer port."""
    found: dict[int, int] = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
        if state != "01" or int(local.rsplit(":", 1)[1], 16) != port:
            continue
        found[int(inode)] = int(remote.rsplit(":", 1)[1], 16)
    return found


def socket_inode(link: str) -> int | None:
    """The inode of a ``/proc/<pid>/fd/<n>`` link like ``socket:[12345]``."""
    if link.startswith("socket:[") and link.endswith("]"):
        return int(link[8:-1])
    return None


def per_event_ms(cpu_seconds: float, events: int) -> float | None:
    return round(1000 * cpu_seconds / events, 4) if events else None
