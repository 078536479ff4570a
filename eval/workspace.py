"""A throw-away Hotline data dir with the demo KB published, for evaluations."""

import os
import tempfile
from pathlib import Path

from core.settings import PACKAGE_ROOT

DEMO_KB = PACKAGE_ROOT / "knowledge_base" / "demo" / "kb.jsonl"


def demo_workspace(kb_file: Path = DEMO_KB, database_url: str | None = None) -> Path:
    """Point Hotline at a fresh SQLite workspace holding kb_file, published (or at
    database_url, an empty database, with a fresh data folder)."""
    from core import tasks
    from core.db import get_engine, session_scope
    from core.migrate import upgrade
    from core.settings import get_settings
    from hotline import registry
    from knowledge_base import live_index
    from knowledge_base import service as kb

    registry.install()  # the domains' event handlers (a KB publish queues its refit)
    # The CLI pointed the queue at the default data directory before we moved it: work an
    # evaluation queues (the refit after a publish) runs here, inline, as a worker would.
    for q in tasks.QUEUES:
        q.immediate = True

    folder = Path(tempfile.mkdtemp(prefix="hotline-eval-"))
    os.environ["HOTLINE_DATA_DIR"] = str(folder)
    # Evaluations stand in for WeCom with a sink on loopback, which webhooks otherwise refuse.
    os.environ.setdefault("HOTLINE_WEBHOOK_ALLOW_PRIVATE", "127.0.0.0/8")
    if database_url:
        os.environ["HOTLINE_DATABASE_URL"] = database_url
    else:
        os.environ.pop("HOTLINE_DATABASE_URL", None)
    get_settings.cache_clear()
    get_engine.cache_clear()
    live_index.reset()
    upgrade(get_settings().resolved_database_url)
    with session_scope() as db:
        report = kb.import_entries(
            db=db, data=kb_file.read_bytes(), fmt="jsonl", actor="eval", publish=True
        )
        if not report.ok:
            raise SystemExit(f"KB file rejected: {report.errors[:3]}")
    return folder
