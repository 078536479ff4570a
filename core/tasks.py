"""The durable task queue (Huey): background work that survives restarts and scales out.

One machine: the queue is a SQLite file under data_dir and the service runs its own worker
threads. Several machines: point every service and `hotline worker` process at the same Redis
(`HOTLINE_TASK_QUEUE_URL=redis://host:6379/0`); workers then run wherever they are started.
Domains declare tasks with `@queue.task()` / `@queue.periodic_task()` in their `tasks` module.

Two queues, each with worker threads of its own: `urgent` for time-critical work (push cards
and alerts, SLA escalations, dispatch rematches and offer expiry), `queue` for the rest
(transcription, imports, bridges, scans). Push cards waited 98-151 s behind two transcriptions
when one queue carried everything; priorities would not help, a running decode keeps its
thread.
"""

import importlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from huey import Huey
from huey.consumer import Consumer
from huey.storage import RedisStorage, SqliteStorage
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from core.settings import Settings, get_settings

log = logging.getLogger("hotline.tasks")

# Modules that declare tasks, named by the composition root (hotline/registry.py TASK_MODULES);
# a worker imports them all so it can run any queued task.
_task_modules: tuple[str, ...] = ()


def use_task_modules(modules: Sequence[str]) -> None:
    """Name the modules that declare tasks (imported when a worker starts)."""
    global _task_modules
    _task_modules = tuple(modules)


def _storage_args(settings: Settings) -> tuple[type, dict]:
    url = settings.task_queue_url
    if not url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteStorage, {"filename": str(settings.data_dir / "tasks.db")}
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStorage, {"url": url}
    raise ValueError(
        f"HOTLINE_TASK_QUEUE_URL={url!r} is not supported: leave it empty (SQLite under the data "
        "directory) or give a redis:// URL."
    )


# Until configure() runs (service start, worker start, tests), tasks run inline, in memory.
# Results are not kept: outcomes live in the domain tables, and Huey would keep every one.
queue: Huey = Huey("hotline", immediate=True, utc=True, results=False)
urgent: Huey = Huey("hotline-urgent", immediate=True, utc=True, results=False)
QUEUES = (queue, urgent)


def configure(settings: Settings | None = None) -> Huey:
    """Point both queues at the storage the settings name (tasks stay registered); they share
    the SQLite file or the Redis, under their own names."""
    storage_class, kwargs = _storage_args(settings or get_settings())
    for q in QUEUES:
        q.storage_class = storage_class
        q.storage_kwargs = kwargs
        q._immediate = False  # the setter would rebuild storage once more; we do it here
        q.storage = q.create_storage()
    return queue


def pending_count() -> int:
    """Tasks waiting in both queues."""
    return sum(q.pending_count() for q in QUEUES)


def keep_old_name(task: Any, old_name: str) -> None:
    """Also run messages queued under a task's former name (`module.function`): a task that
    moved to another module is renamed, and a running deployment's queue may still hold it."""
    task.huey._registry._registry.setdefault(old_name, task.task_class)


def load_tasks() -> None:
    """Import every task-declaring module (a worker must know every task it may dequeue)."""
    if not _task_modules:
        raise RuntimeError("no task modules: call hotline.registry.install() first")
    for name in _task_modules:
        importlib.import_module(name)


# Sweeps that must keep running when the queue itself lost everything (Redis restarted empty
# drops Huey's schedule too): (interval in seconds, function), run by a thread of every worker.
_tickers: list[tuple[Callable[[], float], Callable[[], object]]] = []


def every(interval_s: Callable[[], float]) -> Callable[[Callable[[], object]], Callable]:
    """Run fn every interval_s() seconds in every worker process, on a thread of its own (not
    through the queue, whose schedule a Redis restart loses). fn must tolerate running in
    several workers at once."""

    def register(fn: Callable[[], object]) -> Callable[[], object]:
        _tickers.append((interval_s, fn))
        return fn

    return register


class _Ticker(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="hotline-ticker", daemon=True)
        self.stopped = threading.Event()

    def run(self) -> None:
        due = [0.0] * len(_tickers)
        clock = 0.0
        while not self.stopped.wait(0.5):
            clock += 0.5
            for i, (interval_s, fn) in enumerate(_tickers):
                if clock < due[i]:
                    continue
                due[i] = clock + interval_s()
                try:
                    fn()
                except Exception:  # a database outage: the next tick tries again
                    log.exception("periodic %s failed", getattr(fn, "__name__", fn))


class EmbeddedConsumer(Consumer):
    """Huey's consumer inside the web service: the server owns the process signals."""

    def _set_signal_handlers(self) -> None:
        pass


# Idle workers poll at least every 0.5 s, so scheduled work starts within a second.
CONSUMER_OPTIONS = {"worker_type": "thread", "periodic": True, "initial_delay": 0.1,
                    "max_delay": 0.5, "scheduler_interval": 1}  # fmt: skip


def run_worker(workers: int) -> None:
    """Run a standalone worker process until it is signalled to stop (`hotline worker`):
    `workers` threads on the main queue, HOTLINE_URGENT_WORKERS on the urgent one."""
    load_tasks()
    fast = EmbeddedConsumer(
        urgent, workers=get_settings().urgent_workers, check_worker_health=False,
        **CONSUMER_OPTIONS,
    )  # fmt: skip
    fast.start()
    ticker = _Ticker()
    ticker.start()
    try:
        Consumer(queue, workers=workers, **CONSUMER_OPTIONS).run()
    finally:
        ticker.stopped.set()
        fast.stop(graceful=True)


def start_worker(workers: int) -> list[Consumer | _Ticker]:
    """Start worker threads and the schedulers in this process (no signal handling):
    `workers` on the main queue, HOTLINE_URGENT_WORKERS on the urgent one."""
    load_tasks()
    ticker = _Ticker()
    ticker.start()
    consumers: list[Consumer | _Ticker] = [ticker]
    for q, n in ((queue, workers), (urgent, get_settings().urgent_workers)):
        consumer = EmbeddedConsumer(q, workers=n, check_worker_health=False, **CONSUMER_OPTIONS)
        consumer.start()
        consumers.append(consumer)
    log.info(
        "task workers started: %d + %d urgent thread(s) on %s",
        workers,
        get_settings().urgent_workers,
        type(queue.storage).__name__,
    )
    return consumers


def stop_worker(consumers: list[Consumer | _Ticker]) -> None:
    """Stop the workers started by start_worker, letting running tasks finish."""
    for consumer in consumers:
        if isinstance(consumer, _Ticker):
            consumer.stopped.set()
        else:
            consumer.stop(graceful=True)


def enqueue_after_commit(db: Session, task: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Queue task(*args) once db's transaction commits, so the worker sees the committed rows
    (and nothing is queued for a transaction that rolls back).

    A queue that cannot be written to (Redis down, SQLite queue file locked) does not undo
    the commit, and must not turn it into an error: the caller's change is durable and its
    answer already decided (a 500 for a committed ticket made clients retry and duplicate
    it). The failure is logged; work that must happen is written to the outbox instead
    (core.notify.send / defer: push cards, geocoding, bridges, imports), whose sweep finds
    what was never queued, or is redone by a periodic task (rematch, SLA sweep)."""

    done = False

    def _send(session: Session) -> None:
        nonlocal done
        # after_commit also fires when a savepoint (begin_nested) is released: only the
        # transaction's own commit makes the rows visible to the worker.
        if done or session.in_nested_transaction():
            return
        done = True
        try:
            task(*args, **kwargs)
        except Exception:
            name = getattr(task, "name", getattr(task, "__name__", repr(task)))
            log.exception("could not queue %s%r after commit; the commit stands", name, args)

    def _forget(session: Session, previous: SessionTransaction) -> None:
        # The transaction itself rolled back (not a savepoint): a later commit of the same
        # session must not queue work for rows that are gone.
        nonlocal done
        if not previous.nested:
            done = True

    event.listen(db, "after_commit", _send)
    event.listen(db, "after_soft_rollback", _forget)
