"""`hotline dispatch …` on the service's database: CSV registries, the pool, an override."""

import json
from pathlib import Path

from typer.testing import CliRunner

from hotline.cli import app
from tests.conftest import Service
from tests.dispatch_support import SITE, active, make_ticket, north, state


def test_cli_imports_registries_and_overrides(service: Service, tmp_path: Path) -> None:
    runner = CliRunner()
    techs = tmp_path / "techs.csv"
    techs.write_text(
        "name,home_lat,home_lon,skills,shifts\n"
        f"王师傅,{north(1)[0]},{SITE[1]},家电维修基础,00:00-00:00\n"
        f"赵师傅,{north(2)[0]},{SITE[1]},家电维修基础|低压电工证,\n",
        encoding="utf-8",
    )
    out = runner.invoke(app, ["dispatch", "import", "technicians", str(techs)])
    assert out.exit_code == 0, out.output
    listed = json.loads(runner.invoke(app, ["dispatch", "technicians"]).output)
    assert [t["name"] for t in listed] == ["王师傅", "赵师傅"]
    bad = tmp_path / "stock.csv"
    bad.write_text("warehouse_id,sku,on_hand\nNOPE,X,1\n", encoding="utf-8")
    res = runner.invoke(app, ["dispatch", "import", "stock", str(bad)])
    assert res.exit_code != 0 and "nothing was imported" in res.output
    tid = make_ticket()
    first = active(service, tid)
    assert first is not None
    other = next(t["id"] for t in listed if t["id"] != first["technician_id"])
    res = runner.invoke(
        app, ["dispatch", "reassign", str(tid), str(other), "--reason", "熟悉该小区"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["technician_id"] == other
    assert [a["status"] for a in state(service, tid)["assignments"]] == ["overridden", "offered"]
    missing = runner.invoke(app, ["dispatch", "reassign", str(tid), "99999", "--reason", "x"])
    assert missing.exit_code != 0
