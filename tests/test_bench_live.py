"""``bench live``'s own logic: the mix, entitlements, the accounting of what arrived, and the summary.

No database, no server and no sockets: the figures of a run are only as good as this arithmetic.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench import live
from bench.__main__ import parser
from bench.live_clients import Report, SubscriberSpec
from bench.live_stats import (
    KINDS,
    Change,
    Key,
    Received,
    account,
    expected_keys,
    parse_proc_net_tcp,
    per_event_ms,
    percentile,
    plan_mix,
    socket_inode,
    users_for,
)
from bench.servers import Server

START = datetime(2160, 3, 1, tzinfo=UTC)


def change(
    reservation: str, customer: str | None, item: str = "E1", kind: str = "CREATED", at: float = 10.0
) -> Change:
    return Change(reservation, kind, customer, item, kind in {"CREATED", "CONFIRMED"}, at - 0.05, at)


def event(reservation: str | None, at: float, kind: str = "CREATED") -> Received:
    return Received(at, kind, reservation)


def test_the_mix_is_mostly_staff_and_always_has_every_kind() -> None:
    assert plan_mix(1000) == {"staff": 700, "customer": 100, "other_tenant": 100, "availability": 100}
    for total in (4, 5, 17, 999, 2500):
        mix = plan_mix(total)
        assert sum(mix.values()) == total
        assert list(mix) == list(KINDS)
        assert min(mix.values()) >= 1
    with pytest.raises(ValueError, match="one of each kind"):
        plan_mix(3)
    assert users_for(700, 5) == 140
    assert users_for(101, 5) == 21
    assert users_for(1, 5) == 1


def test_percentiles_interpolate_between_ranks() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]

    assert percentile(values, 0.5) == 3.0
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 1.0) == 5.0
    assert percentile(values, 0.99) == pytest.approx(4.96)
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile(values, 99)


def test_entitlements_follow_the_principal() -> None:
    changes = [
        change("R1", "C1", "E1"),
        change("R2", "C2", "E2"),
        change("R3", None, "E1"),
        change("R4", "C1", "E2", kind="CREATED"),
    ]
    requested = Change("R5", "CREATED", "C1", "E1", False, 11.0, 11.1)
    confirmed = Change("R5", "CONFIRMED", "C1", "E1", True, 12.0, 12.1)
    changes += [requested, confirmed]

    staff = expected_keys("staff", "S1", None, changes)
    assert set(staff) == {
        ("R1", "CREATED"),
        ("R2", "CREATED"),
        ("R3", "CREATED"),
        ("R4", "CREATED"),
        ("R5", "CREATED"),
        ("R5", "CONFIRMED"),
    }
    assert staff[("R5", "CONFIRMED")] == 12.1
    assert set(expected_keys("customer", "C1", None, changes)) == {
        ("R1", "CREATED"),
        ("R4", "CREATED"),
        ("R5", "CREATED"),
        ("R5", "CONFIRMED"),
    }
    assert expected_keys("customer", "C3", None, changes) == {}
    assert expected_keys("other_tenant", "S9", None, changes) == {}
    # Availability: the item's reservations once they hold stock, timed from the change that made them hold.
    assert expected_keys("availability", "S1", "E1", changes) == {"R1": 10.0, "R3": 10.0, "R5": 12.1}


def test_reservation_events_are_counted_once_and_the_rest_is_extra() -> None:
    expected: dict[Key, float] = {("R1", "CREATED"): 1.0, ("R2", "CREATED"): 1.0, ("R3", "CREATED"): 2.0}
    messages = [
        event("R1", 1.010),
        event("R2", 1.030),
        event("R2", 1.040),  # twice
        event("R9", 1.050),  # not entitled
        event(None, 1.060, "REFETCH"),
        Received(1.070, None, None, errors=True),
    ]

    result = account("staff", expected, messages)

    assert (result.messages, result.expected, result.delivered, result.missing) == (6, 3, 2, 1)
    assert (result.extra, result.duplicates, result.unknown, result.leaked) == (2, 1, 1, 0)
    assert (result.refetch, result.errors) == (1, 1)
    # A reservation of the burst the subscriber is not entitled to is a leak, however often it comes.
    assert account("staff", expected, messages, known={"R9"}).leaked == 1
    assert account("customer", {}, [event("R1", 1.0), event("R1", 1.1)], known={"R1"}).leaked == 2
    assert result.latencies == pytest.approx([0.010, 0.030])
    assert account("other_tenant", {}, [event("R1", 1.0)]).unknown == 1
    assert account("other_tenant", {}, []).to_json()["latency"]["p50_ms"] is None


def test_an_availability_holder_counts_from_the_first_message_that_names_it() -> None:
    expected: dict[Key, float] = {"R1": 1.0, "R2": 2.0, "R3": 3.0}
    messages = [
        Received(1.02, None, None, holders=("R1",)),
        Received(2.05, None, None, holders=("R1", "R2", "X")),
        Received(2.50, None, None, holders=("R1", "R2", "X")),
    ]

    result = account("availability", expected, messages)

    assert (result.messages, result.delivered, result.missing, result.extra) == (3, 2, 1, 1)
    assert result.unknown == 1
    assert account("availability", expected, messages, known={"X"}).leaked == 1
    assert result.latencies == pytest.approx([0.02, 0.05])


def test_proc_net_tcp_gives_the_peer_port_of_each_established_socket() -> None:
    text = "\n".join(
        [
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 1111 1 0 100 0 0 10 0",
            "   1: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000  0 0 2222 1 0 20 4 30 10 -1",
            "   2: 0100007F:D2F0 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  0 0 3333 1 0 20 4 30 10 -1",
            "   3: 0100007F:1F91 0100007F:D2F1 01 00000000:00000000 00:00000000 00000000  0 0 4444 1 0 20 4 30 10 -1",
        ]
    )

    assert parse_proc_net_tcp(text, 0x1F90) == {2222: 0xD2F0}
    assert socket_inode("socket:[2222]") == 2222
    assert socket_inode("pipe:[2222]") is None
    assert socket_inode("/dev/null") is None
    assert per_event_ms(1.5, 3000) == 0.5
    assert per_event_ms(1.5, 0) is None


def test_bursts_never_overlap_on_an_item_and_stay_in_their_window() -> None:
    windows = live.phase_windows(START, 100, 10)
    assert windows["warmup"][1] < windows["baseline"][0] < windows["baseline"][1] < windows["burst"][0]
    customers = live.burst_customers([user("c1"), user("c2")], confirm=False)
    jobs = live.build_jobs(100, [f"E{n}" for n in range(10)], windows["burst"], customers)

    assert len(jobs) == 100
    assert {job.equipment_id for job in jobs} == {f"E{n}" for n in range(10)}
    for item in {job.equipment_id for job in jobs}:
        slots = sorted((job.starts_at, job.ends_at) for job in jobs if job.equipment_id == item)
        assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(slots))
    assert all(windows["burst"][0] <= job.starts_at and job.ends_at <= windows["burst"][1] for job in jobs)
    # Every tenth booking is for nobody; the rest go round the customers.
    assert [job.customer.email if job.customer else None for job in jobs[:10]] == ["c1", "c2"] * 4 + [
        "c1",
        None,
    ]
    assert all(
        job.customer is not None
        for job in live.build_jobs(
            10, ["E"], windows["burst"], live.burst_customers([user("c1")], confirm=True)
        )
    )


def user(email: str, role: str = "CUSTOMER", slug: str = "bench0") -> live.User:
    return live.User(email, f"G-{email}", role, "pw", slug)


def fixture() -> live.Fixture:
    return live.Fixture(
        admin=user("admin", "ADMIN"),
        staff=[user(f"s{n}", "STAFF") for n in range(4)],
        customers=[user("c1"), user("c2")],
        other=[user("o1", "STAFF", "bench1")],
        seeded_customers=[user("seeded")],
        items=["E1", "E2"],
        windows=live.phase_windows(START, 10, 2),
    )


def specs_for(total: int) -> list[SubscriberSpec]:
    world = fixture()
    tokens = {each.email: f"T-{each.email}" for each in [*world.staff, *world.customers, *world.other]}
    return live.subscriber_specs(plan_mix(total), world, tokens, world.windows["burst"])


def test_subscribers_interleave_the_kinds_and_share_users() -> None:
    specs = specs_for(40)

    assert [spec.index for spec in specs] == list(range(40))
    assert {kind: sum(spec.kind == kind for spec in specs) for kind in KINDS} == plan_mix(40)
    assert len({spec.kind for spec in specs[:10]}) == len(KINDS)  # every client process gets each kind
    availability = [spec for spec in specs if spec.kind == "availability"]
    assert {spec.equipment_id for spec in availability} == {"E1", "E2"}
    assert all(spec.variables["ids"] == [spec.equipment_id] for spec in availability)
    assert {spec.email for spec in specs if spec.kind == "other_tenant"} == {"o1"}
    assert all(spec.token == f"T-{spec.email}" for spec in specs)
    assert {spec.field for spec in specs if spec.kind != "availability"} == {"reservationEvents"}


def test_the_summary_reads_a_run_that_missed_and_leaked_events(tmp_path: Path) -> None:
    specs = {spec.index: spec for spec in specs_for(8)}
    changes = [change("R1", "G-c1", "E1", at=1.0), change("R2", "G-c2", "E2", at=1.1)]
    expected = {
        index: expected_keys(spec.kind, spec.principal, spec.equipment_id, changes)
        for index, spec in specs.items()
    }
    reports = []
    for index, spec in specs.items():
        report = Report(index, local_port=40000 + index, ready=index != 7)
        if spec.kind == "staff":
            report.messages = [event("R1", 1.02), event("R2", 1.15)]
        elif spec.kind == "other_tenant":
            report.messages = [event("R1", 1.03)]  # another tenant's event: a leak
        reports.append(report)
    owners = {40000 + index: 100 + index % 2 for index in specs}
    burst = live.BurstResult(changes=changes, started=0.9, finished=1.2, cpu_seconds=2.0)
    baseline = live.BurstResult(changes=changes, started=0.0, finished=0.3, cpu_seconds=1.0)
    rss = {
        "none": {"100": 100.0, "101": 100.0},
        "idle": {"100": 101.0, "101": 101.5},
        "after": {"100": 102.0, "101": 102.0},
    }

    summary = live.summarise(specs, expected, reports, owners, burst, baseline, rss)

    delivery = summary["delivery"]
    assert delivery["not_connected"] == 1
    leaks = sum(1 for index, spec in specs.items() if spec.kind == "other_tenant" and index != 7)
    assert leaks > 0
    assert (delivery["leaked"], delivery["extra"], delivery["unknown"]) == (leaks, leaks, 0)
    assert delivery["missing"] > 0  # customers and availability received nothing
    assert not summary["correct"]
    assert summary["cost"]["cpu_ms_per_event_net"] == per_event_ms(1.0, delivery["messages"])
    assert summary["memory"]["kib_per_idle_subscriber"] == pytest.approx(1024 * 2.5 / 7, abs=0.01)
    assert set(summary["by_worker"]) == {"100", "101"}
    meta = {
        "subscribers": 8,
        "mix": plan_mix(8),
        "mutations": 2,
        "confirm": False,
        "concurrency": 10,
        "workers": 2,
        "cpus": 2,
        "load_average": [0.5, 0.5, 0.5],
        "server_env_raised": live.server_limits(8),
        "users": {"staff": 4, "customer": 2, "other_tenant": 1, "staff_roles": {"STAFF": 4}},
        "principals": "bench users",
    }
    results = summary | {
        "meta": meta,
        "burst": burst.to_json() | {"client_cpu_seconds": 0.1, "last_entitled_arrival_s": None},
        "workers": {"pids_at_start": [100, 101], "pids_at_end": [100, 101], "replaced_during_run": 0},
        "baseline_burst": baseline.to_json(),
        "idle": {"connected": 7, "websocket_extensions": ["none"], "refused": {"HTTP 403": 1}},
    }

    lines = live.summary_lines(results)

    assert lines[-1].startswith("correctness: FAIL: 1 not connected")
    assert "leaked" in lines[-1] and "missing" in lines[-1]
    assert any(line.startswith("worker 100:") for line in lines)
    assert any(line.startswith("staff ") for line in lines)


def test_the_live_command_defaults() -> None:
    args = parser().parse_args(
        ["live", "--database-url", "postgresql://postgres@127.0.0.1:5432/rigbook_bench"]
    )

    assert (args.workers, args.subscribers, args.mutations, args.concurrency) == (2, 1000, 100, 10)
    assert (args.phase_timeout, args.confirm, args.client_processes) == (120.0, False, 2)
    limits = live.server_limits(1000)
    assert limits["RIGBOOK_WS_MAX_CONNECTIONS_PER_USER"] == "1000"
    assert int(limits["RIGBOOK_MAX_CONNECTIONS"]) > 1000
    assert live.burst_span(100, 10) == timedelta(hours=40)
    assert args.server_env == []
    extra = live.parse_server_env(["RIGBOOK_POOL_TIMEOUT=30", "RIGBOOK_MAX_CONNECTIONS=5000"])
    assert live.server_limits(10, extra)["RIGBOOK_MAX_CONNECTIONS"] == "5000"
    assert live.server_limits(10, extra)["RIGBOOK_POOL_TIMEOUT"] == "30"
    for bad in ("POOL_TIMEOUT=3", "RIGBOOK_POOL_TIMEOUT", "RIGBOOK_DATABASE_URL=sqlite://"):
        with pytest.raises(SystemExit):
            live.parse_server_env([bad])


def test_the_server_log_is_read_for_complaints_only(tmp_path: Path) -> None:
    log = tmp_path / "rigbook.log"
    log.write_text(
        "\n".join(
            [
                "INFO:     Started server process [1]",
                'INFO:     127.0.0.1:5 - "POST /graphql HTTP/1.1" 200 OK',
                'INFO:     127.0.0.1:6 - "WebSocket /graphql" [accepted]',
                "INFO:     Child process [2] died",
                "a live subscription ended: TimeoutError: pool",
                "a live subscription ended: TimeoutError: pool",
                "could not check the grants of live connections",
            ]
        )
    )
    server = Server("rigbook", [], {}, 0, "/health/live", log)

    assert live.server_complaints(server) == {
        "a live subscription ended: TimeoutError: pool": 2,
        "could not check the grants of live connections": 1,
    }
    assert live.restarted_workers(server) == 1
