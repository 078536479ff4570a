"""Every place a domain plugs in, listed once: routers, CLI groups, tables, event handlers, tasks.

core/ provides the mechanisms (events, the task queue, migrations) and knows no domain; this
module names the domains' modules and hands them to core (install). A new domain adds its
modules here. Names are imported when first needed, so `hotline --help` stays quick.
"""

import importlib
from importlib.metadata import entry_points
from typing import Any

from fastapi import APIRouter
from typer import Typer

# Mounted in this order under the API (each router carries its own prefix).
ROUTERS = (
    "core.auth_api:router",
    "intake.api:router",
    "intake.import_api:router",
    "intake.bridges.api:router",
    "tickets.recurrence_api:router",
    "intake.openai_api:router",
    "intake.stream_api:router",
    "intake.calls_api:router",
    "intake.fork_api:router",
    "triage.api:router",
    "tickets.api:router",
    "tickets.api:corrections_router",
    "tickets.kb_gaps_api:router",
    "tickets.desk_api:router",
    "knowledge_base.api:router",
    "sla.api:router",
    "dispatch.api:router",
    "core.notify_api:router",
    "core.phone_reads_api:router",
    "console.customer:router",
)

# `hotline NAME …` command groups of the domains (kb and token live in hotline.cli).
CLI_GROUPS = (
    ("user", "console.cli:user_app"),
    ("import", "intake.import_cli:import_app"),
    ("predict", "tickets.recurrence_cli:predict_app"),
    ("dispatch", "dispatch.cli:dispatch_app"),
    ("audit", "core.phone_reads_api:audit_app"),
)
# Groups that packages outside production register themselves (eval/: `hotline eval …`).
CLI_ENTRY_POINTS = "hotline.cli"

# Every module that declares tables, so migrations and schema checks see the whole schema.
MODEL_MODULES = (
    "core.auth",
    "core.notify",
    "core.idempotency",
    "core.phone_reads",
    "knowledge_base.models",
    "triage.models",
    "tickets.models",
    "sla.models",
    "dispatch.models",
    "intake.models",
    "intake.jobs",
    "intake.bridges.models",
    "tickets.recurrence",
    "console.models",
    "tickets.location",
    "tickets.kb_gaps",
    "tickets.attachments",
)

# Modules whose import subscribes event handlers. Order matters where handlers of one event
# build on each other: tickets.location places a ticket from its address before dispatch.hooks
# matches it (same transaction).
HANDLER_MODULES = (
    "sla.hooks",
    "intake.bridges.hooks",
    "tickets.location",
    "intake.bridges.geocoder",
    "dispatch.hooks",
    "tickets.calibration",
)

# Modules that declare tasks; a worker imports them all so it can run any queued task.
TASK_MODULES = (
    "core.notify",
    "core.idempotency",
    "core.phone_reads",
    "intake.jobs",
    "sla.escalation",
    "sla.service",
    "sla.tasks",
    "intake.import_tasks",
    "intake.live_recovery",
    "intake.bridges.tasks",
    "tickets.recurrence",
    "dispatch.tasks",
    "intake.bridges.geocoder",
    "tickets.calibration",
    "tickets.kb_gaps",
)


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def install() -> None:
    """Hand core the domains' event handlers and tasks (before any event or worker runs)."""
    from core import events, tasks

    events.use_handler_modules(HANDLER_MODULES)
    tasks.use_task_modules(TASK_MODULES)


def import_models() -> None:
    """Import every table-declaring module so Base.metadata is complete."""
    for name in MODEL_MODULES:
        importlib.import_module(name)


def routers() -> list[APIRouter]:
    """The API's routers, in mounting order."""
    return [_load(ref) for ref in ROUTERS]


def cli_groups() -> list[tuple[str, Typer]]:
    """(name, group) of every `hotline NAME …` group besides kb and token: the domains', then
    those registered under the `hotline.cli` entry-point group."""
    groups = [(name, _load(ref)) for name, ref in CLI_GROUPS]
    seen = {name for name, _ in groups}
    for ep in entry_points(group=CLI_ENTRY_POINTS):
        if ep.name not in seen:
            seen.add(ep.name)
            groups.append((ep.name, ep.load()))
    return groups
