"""Every module that declares tables, so migrations and schema checks see the whole schema."""

import importlib

# Each domain adds its `models` module here when it adds tables (and a migration branch).
MODEL_MODULES = (
    "core.auth",
    "core.notify",
    "core.idempotency",
    "knowledge_base.models",
    "tickets.models",
    "sla.models",
    "dispatch.models",
    "intake.models",
    "intake.jobs",
    "intake.bridges.models",
    "tickets.recurrence",
    "console.models",
    "tickets.location",
)


def import_all() -> None:
    """Import every table-declaring module so Base.metadata is complete."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
