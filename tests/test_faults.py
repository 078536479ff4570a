"""Fault injection on a real deployment: PostgreSQL + Redis, two `hotline serve` processes, a
`hotline worker`, and a local receiver standing in for WeCom (it counts deliveries by their
Idempotency-Key) and for the geocoder. Under bounded load (12 text intakes per fault, 4 at a
time) each part is broken in turn: a web process killed with -9 (the client sends the
unanswered requests again, same Idempotency-Key, to the other), the worker killed with -9 (a
new one finishes its jobs), Redis killed and restarted empty, PostgreSQL paused (SIGSTOP
of the postmaster and the database's backends, SIGCONT 6 s later).

After each: 0 acknowledged tickets lost, 0 duplicates, every ticket's push card delivered and
received, one card per ticket, nothing left pending or queued. The time each took to settle
is printed (`pytest -s`). Needs HOTLINE_TEST_PG_URL and redis-server (CI has both).
"""

import os
import shutil
import signal
import time
from collections.abc import Iterator

import pytest

from tests.conftest import PG_URL
from tests.fault_cluster import Cluster, Tally

pytestmark = [
    pytest.mark.skipif(not PG_URL, reason="fault injection needs PostgreSQL (HOTLINE_TEST_PG_URL)"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed"),
]

PER_FAULT = 12
FAULT_AFTER = 4  # acknowledged intakes of the round before the fault strikes
PAUSE_S = 6.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    assert PG_URL
    c = Cluster(tmp=tmp_path_factory.mktemp("faults"), admin_url=PG_URL)
    try:
        c.start(webs=2)
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def tally() -> Tally:
    return Tally()


def _check(cluster: Cluster, tally: Tally, fault: str, struck: float) -> None:
    state, at = cluster.settled(tally)
    print(
        f"\n{fault}: settled {at - struck:.1f} s after the fault; "
        f"{len(tally.acked)} acknowledged, {state.get('tickets')} tickets, "
        f"this round: client re-sent {tally.resent}, answers {dict(tally.answers)}; "
        f"all rounds: cards sent again with their key (receiver dedups) "
        f"{state.get('resends_by_key')}"
    )
    assert "error" not in state, state
    assert state["lost"] == [], state
    assert state["duplicates"] == 0, state
    assert state["tickets"] == len(tally.acked), state
    assert state["tickets_without_card"] == [], state
    assert state["tickets_with_several_cards"] == [], state
    assert state["cards_not_received"] == [], state
    assert state["undelivered"] == {}, state
    assert state["queued"] == 0, state


def test_a_web_process_killed_mid_load(cluster: Cluster, tally: Tally) -> None:
    alive = ["web0", "web1"]
    struck = cluster.load(
        tally,
        "web",
        0,
        PER_FAULT,
        targets=lambda: list(alive),
        fault=lambda: (cluster.kill("web0"), alive.remove("web0")),
        fault_after=FAULT_AFTER,
    )
    _check(cluster, tally, "web process kill -9", struck)
    cluster.start_web("web0", wait=False)  # back for the next rounds (starts meanwhile)


def test_the_worker_killed_mid_load(cluster: Cluster, tally: Tally) -> None:
    def fault() -> None:
        cluster.kill("worker0")
        cluster.start_worker("worker1")

    struck = cluster.load(
        tally, "worker", 100, PER_FAULT, lambda: ["web1"], fault, fault_after=FAULT_AFTER
    )
    _check(cluster, tally, "worker kill -9, a new worker started", struck)


def test_redis_killed_and_restarted_empty(cluster: Cluster, tally: Tally) -> None:
    def fault() -> None:
        cluster.kill("redis")
        time.sleep(3)
        cluster.start_redis()

    cluster.wait_web("web0")
    struck = cluster.load(
        tally, "redis", 200, PER_FAULT, lambda: ["web0", "web1"], fault, fault_after=FAULT_AFTER
    )
    _check(cluster, tally, "Redis kill -9, down 3 s, restarted empty", struck)


def test_postgresql_paused(cluster: Cluster, tally: Tally) -> None:
    try:
        pids = cluster.postgres_pids()
        for pid in pids:
            os.kill(pid, 0)
    except (OSError, PermissionError) as exc:
        pytest.skip(f"cannot signal the PostgreSQL processes from here: {exc}")

    def fault() -> None:
        stopped = cluster.postgres_pids()
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(PAUSE_S)
        finally:
            for pid in stopped:
                os.kill(pid, signal.SIGCONT)

    struck = cluster.load(
        tally, "pg", 300, PER_FAULT, lambda: ["web0", "web1"], fault, fault_after=FAULT_AFTER
    )
    _check(cluster, tally, f"PostgreSQL paused {PAUSE_S:.0f} s (SIGSTOP/SIGCONT)", struck)
