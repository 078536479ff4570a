"""A small Hotline deployment of real processes for the fault-injection tests: PostgreSQL (a
database of its own in the test cluster), a Redis server, `hotline serve` web processes and
`hotline worker` processes, and one local HTTP server standing in for the outside systems
(the WeCom push receiver, counting deliveries by Idempotency-Key, and the geocoder).

Each intake carries an Idempotency-Key; a request that gets no 2xx (connection reset, 503,
timeout) is sent again with the same key to the next web process, as a client should.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from core.settings import PACKAGE_ROOT
from eval.console_server import free_port

SITE = (22.5400, 113.9500)  # where the geocoder puts every address (WGS-84)
KB_SKILL = "家电维修基础"  # LOCK-MOTOR-JAM's skill (a site visit, not remote-first)
TEXT = (
    "门锁验证成功但门打不开，能听到电机转动声但锁舌不动，电话{phone}，地址深圳市南山区科技园{n}栋"
)


class Receiver:
    """The outside world: POST /hook (WeCom robot: counts by Idempotency-Key) and GET /geo."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()
        owner = self

        class Handle(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with owner.lock:
                    owner.received[self.headers.get("Idempotency-Key") or "-"] += 1
                self._json({"errcode": 0, "errmsg": "ok"})

            def do_GET(self) -> None:
                self._json({"status": "1", "geocodes": [{"location": f"{SITE[1]},{SITE[0]}"}]})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 20) -> None:
    """Until something accepts connections on the port."""
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s")


@dataclass
class Tally:
    """What the client saw: acknowledged keys → ticket id, and how many requests it re-sent."""

    acked: dict[str, int] = field(default_factory=dict)  # every round
    resent: int = 0  # this round
    answers: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Cluster:
    """The processes and their settings; start() brings them up, close() takes them down."""

    tmp: Path
    admin_url: str  # the test PostgreSQL cluster (HOTLINE_TEST_PG_URL)
    receiver: Receiver = field(default_factory=Receiver)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    token: str = ""
    db_name: str = field(default_factory=lambda: f"hotline_faults_{os.getpid()}")
    redis_port: int = field(default_factory=free_port)
    engine: Engine | None = None

    # --- setup -----------------------------------------------------------------------------
    def _admin(self) -> psycopg.Connection:
        url = make_url(self.admin_url)
        return psycopg.connect(
            host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
        )

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL of this cluster's own database."""
        return make_url(self.admin_url).set(database=self.db_name).render_as_string(False)

    def env(self) -> dict[str, str]:
        """What every Hotline process of the deployment is started with."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        env.update(
            HOTLINE_DATA_DIR=str(self.tmp / "data"),
            HOTLINE_DATABASE_URL=self.database_url,
            HOTLINE_TASK_QUEUE_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            HOTLINE_EMBEDDED_WORKERS="0",
            HOTLINE_GEOCODER_URL=self.receiver.url + "/geo?address={address}",
            HOTLINE_GEOCODER_DATUM="wgs84",
            HOTLINE_DISPATCH_WEBHOOK_URL=self.receiver.url + "/hook",
            # The receiver is a local server: webhooks to loopback must be allow-listed.
            HOTLINE_WEBHOOK_ALLOW_PRIVATE="127.0.0.0/8",
            HOTLINE_DISPATCH_MAX_PER_DAY="1000",
            HOTLINE_DISPATCH_OFFER_TIMEOUT_S="3600",  # one card per ticket in the test
            HOTLINE_OUTBOX_SWEEP_S="3",
            HOTLINE_NOTIFY_TIMEOUT_S="2",
            HOTLINE_NOTIFY_RETRY_BASE_S="0.5",
            HOTLINE_NOTIFY_MAX_ATTEMPTS="30",  # outages in the test must not make dead letters
            HOTLINE_DB_POOL_TIMEOUT_S="3",
        )
        return env

    def _cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "hotline.cli", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
            cwd=PACKAGE_ROOT,
        )
        if done.returncode != 0:
            raise RuntimeError(f"hotline {' '.join(args)}: {done.stderr[-2000:]}")
        return done.stdout

    def start(self, webs: int = 2) -> None:
        """Database, Redis, `hotline init`, web processes and one worker; a technician."""
        t0 = time.monotonic()
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}"')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.engine = create_engine(self.database_url, pool_pre_ping=True)
        self.start_redis()
        out = self._cli("init")
        t1 = time.monotonic()
        self.token = out.split("admin token (shown once, keep it safe): ")[1].split()[0]
        for i in range(webs):
            self.start_web(f"web{i}", wait=False)
        self.start_worker("worker0")
        for i in range(webs):
            self.wait_web(f"web{i}")
        r = httpx.post(
            self.url("web0") + "/api/v1/dispatch/technicians",
            headers=self.headers,
            json={"name": "钱师傅", "home_lat": SITE[0], "home_lon": SITE[1], "skills": [KB_SKILL]},
        )
        r.raise_for_status()
        print(
            f"\ndeployment up in {time.monotonic() - t0:.1f} s "
            f"(hotline init {t1 - t0:.1f} s, {webs} web + 1 worker {time.monotonic() - t1:.1f} s)"
        )

    def start_redis(self) -> None:
        """Redis with no persistence: a restart loses every queued message."""
        self.procs["redis"] = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--save", "", "--appendonly", "no"],
            cwd=self.tmp,
            stdout=subprocess.DEVNULL,
        )
        wait_port(self.redis_port, self.procs["redis"])

    def start_web(self, name: str, *, wait: bool = True) -> None:
        """A `hotline serve` process."""
        port = self.ports.setdefault(name, free_port())
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "hotline.cli", "serve", "--port", str(port)],
            env=self.env(),
            cwd=PACKAGE_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / f"{name}.log", "ab"),  # noqa: SIM115  (closed with the process)
        )
        if wait:
            self.wait_web(name)

    def wait_web(self, name: str, timeout: float = 240) -> None:
        """Until the web process answers /readyz."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                raise RuntimeError((self.tmp / f"{name}.log").read_text()[-3000:])
            try:
                if httpx.get(self.url(name) + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{name} did not start within {timeout} s")

    def start_worker(self, name: str) -> None:
        """A `hotline worker` process (2 threads on the main queue, 2 on the urgent one)."""
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "hotline.cli", "worker", "--threads", "2"],
            env=self.env(),
            cwd=PACKAGE_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / f"{name}.log", "ab"),  # noqa: SIM115
        )

    def kill(self, name: str) -> None:
        """kill -9, and wait for the process to be gone."""
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def url(self, name: str) -> str:
        """Base URL of a web process."""
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def headers(self) -> dict[str, str]:
        """Admin token."""
        return {"Authorization": f"Bearer {self.token}"}

    def close(self) -> None:
        """Stop every process (politely, then not) and drop the database."""
        for proc in self.procs.values():
            proc.send_signal(signal.SIGCONT)
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.receiver.close()
        if self.engine is not None:
            self.engine.dispose()
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    # --- PostgreSQL pause ------------------------------------------------------------------
    def postgres_pids(self) -> list[int]:
        """The postmaster and this database's backends (SIGSTOP them all to pause PostgreSQL)."""
        with self._admin() as conn:
            backends = [
                r[0]
                for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> "
                    "pg_backend_pid()",
                    (self.db_name,),
                )
            ]
            data_dir = conn.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
        postmaster = int(Path(data_dir, "postmaster.pid").read_text().split()[0])
        return [postmaster, *backends]

    # --- load and checks -------------------------------------------------------------------
    def intake(self, tally: Tally, key: str, n: int, targets: Callable[[], list[str]]) -> None:
        """One text intake, sent again with the same key until some web process says 2xx."""
        body = {"text": TEXT.format(phone=f"139{n:08d}", n=n), "channel": "app"}
        headers = {**self.headers, "Idempotency-Key": key}
        deadline = time.monotonic() + 120
        attempt = 0
        while time.monotonic() < deadline:
            names = targets()
            name = names[attempt % len(names)]
            attempt += 1
            try:
                r = httpx.post(
                    self.url(name) + "/api/v1/intake/text", json=body, headers=headers, timeout=8
                )
                outcome = str(r.status_code)
            except httpx.HTTPError as exc:
                r, outcome = None, type(exc).__name__
            with tally.lock:
                tally.answers[outcome] += 1
            if r is not None and r.status_code // 100 == 2:
                with tally.lock:
                    tally.acked[key] = r.json()["id"]
                    tally.resent += attempt - 1
                return
            time.sleep(0.3)
        raise AssertionError(f"intake {key} never acknowledged")

    def load(
        self,
        tally: Tally,
        prefix: str,
        first: int,
        count: int,
        targets: Callable[[], list[str]],
        fault: Callable[[], None],
        fault_after: int,
    ) -> float:
        """count intakes, 4 at a time; fault() runs once fault_after of them are acknowledged.
        Returns the monotonic time the fault started. (The tally's answers and re-sends count
        this round only.)"""
        started: list[float] = []
        with tally.lock:
            tally.answers.clear()
            tally.resent = 0

        def injector() -> None:
            while sum(1 for k in list(tally.acked) if k.startswith(prefix)) < fault_after:
                time.sleep(0.02)
            started.append(time.monotonic())
            fault()

        inj = threading.Thread(target=injector)
        inj.start()
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [
                pool.submit(self.intake, tally, f"{prefix}-{n}", n, targets)
                for n in range(first, first + count)
            ]
            for f in futures:
                f.result()
        inj.join()
        return started[0]

    def state(self, tally: Tally) -> dict[str, Any]:
        """What the database, the queue and the receiver say now."""
        import redis

        assert self.engine is not None
        with self.engine.connect() as conn:
            tickets = conn.execute(text("SELECT id FROM tickets")).scalars().all()
            cards = conn.execute(
                text(
                    "SELECT id, ref_id, status FROM notification_deliveries "
                    "WHERE kind = 'dispatch.card'"
                )
            ).all()
            unfinished = conn.execute(
                text(
                    "SELECT kind, status, count(*) FROM notification_deliveries "
                    "WHERE status <> 'delivered' GROUP BY kind, status"
                )
            ).all()
        r = redis.Redis(port=self.redis_port)
        queued = sum(r.llen(k) for k in r.keys("huey.redis.*"))
        received = dict(self.receiver.received)
        cards_per_ticket = Counter(c.ref_id for c in cards)
        return {
            "tickets": len(tickets),
            "lost": sorted(set(tally.acked.values()) - set(tickets)),
            "duplicates": len(tickets) - len(set(tally.acked.values())),
            "tickets_without_card": sorted(set(tickets) - {int(c.ref_id) for c in cards}),
            "tickets_with_several_cards": sorted(t for t, n in cards_per_ticket.items() if n > 1),
            "cards_not_received": sorted(
                c.id for c in cards if f"hotline-delivery-{c.id}" not in received
            ),
            "undelivered": {f"{k} {s}": n for k, s, n in unfinished},
            "queued": queued,
            "resends_by_key": sum(n - 1 for n in received.values()),
        }

    def settled(self, tally: Tally, timeout: float = 90) -> tuple[dict[str, Any], float]:
        """Poll until every acknowledged ticket has its card received and nothing is left to
        do (or the timeout); returns the last state and when it settled (monotonic)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                s = self.state(tally)
            except Exception as exc:  # the database may still be paused
                s = {"error": repr(exc)}
            done = (
                "error" not in s
                and not s["lost"]
                and not s["tickets_without_card"]
                and not s["cards_not_received"]
                and not s["undelivered"]
                and s["queued"] == 0
            )
            if done or time.monotonic() > deadline:
                return s, time.monotonic()
            time.sleep(0.25)
