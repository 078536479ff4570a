"""The database layer's own promises, on SQLite (the default backend)."""

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.db import make_engine


def test_a_savepoint_never_commits_on_its_own(tmp_path: Path) -> None:
    """pysqlite opens a transaction only before a write: a savepoint issued first used to
    start one itself, and releasing it committed rows the session later rolled back."""
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with Session(engine) as db:
        db.execute(text("SELECT count(*) FROM t"))  # reads open no transaction in pysqlite
        with db.begin_nested():
            db.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as other:  # another connection must not see it yet
            assert other.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
        db.rollback()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    with Session(engine) as db:  # and a savepoint inside a committed session still counts
        with db.begin_nested():
            db.execute(text("INSERT INTO t VALUES (2)"))
        db.commit()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT x FROM t").scalars().all() == [2]
