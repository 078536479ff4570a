"""A real Hotline service in a subprocess for browser tests, screenshots and the console benchmark.

`hotline init` creates the database and demo KB, `create_users` the console logins (as
`hotline user create` does, all in one process), and uvicorn serves the app on a free port,
exactly as `make run` does.
"""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from core.settings import PACKAGE_ROOT

PASSWORD = "console-demo-1"
USERS = (
    ("zhang.agent", "agent", "张坐席"),
    ("li.ke", "knowledge_engineer", "李知识"),
    ("wang.ke", "knowledge_engineer", "王审核"),
    ("zhao.boss", "supervisor", "赵主管"),
    ("qian.tech", "technician", "钱师傅"),
    ("root", "admin", "管理员"),
)
DEMO_CALLS = (
    "我家门锁指纹按了没反应，电话13800138000，地址北京市朝阳区望京街10号",
    "充电桩充不上电，屏幕显示E05，设备编号CP2023001，电话13900139001，地址北京市海淀区中关村大街1号",
    "空调不制冷了，外机不转，型号KFR-35GW，电话13700137002，地址北京市东城区东直门内大街5号",
    "洗衣机APP显示离线，配网失败，电话13600136003，地址北京市西城区金融街8号",
    "热水器打不着火，显示E1，电话13500135004，地址北京市丰台区丽泽路2号",
    "那个电梯困人了，编号EL-8821，电话13400134005，地址北京市朝阳区建国路88号",
)


@dataclass
class Server:
    """A running service: its base URL, an admin API token, its data folder and env."""

    url: str
    token: str
    data_dir: Path
    env: dict[str, str]
    pid: int = 0  # the serving process (benchmarks read its CPU time)

    def api(self) -> httpx.Client:
        """An HTTP client for the JSON API, as admin."""
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=120
        )


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(args: list[str], env: dict[str, str]) -> str:
    return _run([sys.executable, "-m", "hotline.cli", *args], env)


def _run(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        argv,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=PACKAGE_ROOT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[2:])} failed: {done.stderr or done.stdout}")
    return done.stdout


def _init(env: dict[str, str]) -> str:
    """`hotline init`; the admin token it printed."""
    out = _cli(["init"], env)
    m = re.search(r"admin token \(shown once, keep it safe\): (\S+)", out)
    if m is None:
        raise RuntimeError(f"hotline init printed no admin token:\n{out}")
    return m.group(1)


@contextmanager
def running_server(
    data_dir: Path, *, database_url: str | None = None, admin_token: str | None = None
) -> Iterator[Server]:
    """Initialise a data folder, create the console users and serve the app until exit.
    With admin_token, the folder, its database and the users are ready already (tests serve
    a copy of their seeded database): neither `hotline init` nor create_users runs."""
    env = {**os.environ, "HOTLINE_DATA_DIR": str(data_dir), "HOTLINE_EMBEDDED_WORKERS": "1"}
    env.pop("HOTLINE_DATABASE_URL", None)
    if database_url:
        env["HOTLINE_DATABASE_URL"] = database_url
    token = admin_token
    if token is None:
        token = _init(env)
        _run([sys.executable, "-m", "eval.console_server"], env)  # create_users()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotline.cli", "serve", "--port", str(port)],
        env=env,
        cwd=PACKAGE_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(data_dir / "server.log", "wb"),  # noqa: SIM115  (closed with the process)
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise RuntimeError((data_dir / "server.log").read_text()[-3000:])
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not start within 300 s")
            time.sleep(0.5)
        yield Server(url=url, token=token, data_dir=data_dir, env=env, pid=proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def seed_calls(server: Server, texts: tuple[str, ...] = DEMO_CALLS) -> list[dict]:
    """Create one ticket per caller text through the public intake API."""
    with server.api() as api:
        out = []
        for text in texts:
            r = api.post("/api/v1/intake/text", json={"text": text, "channel": "app"})
            r.raise_for_status()
            out.append(r.json())
        return out


def seed_recorded_call(server: Server, wav: Path) -> dict:
    """Create a ticket from a call recording (transcribed by the service)."""
    with server.api() as api:
        r = api.post(
            "/api/v1/intake/audio",
            files={"file": (wav.name, wav.read_bytes(), "audio/wav")},
            data={"channel": "phone", "background": "false"},
        )
        r.raise_for_status()
        return r.json()


def create_users() -> None:
    """Create the USERS (password PASSWORD) in the configured database. Run in one process
    (`python -m eval.console_server`): a `hotline user create` per login started the app's
    modules six times, 2-3 s each on two busy cores."""
    from console import accounts
    from core.auth import Role
    from core.db import session_scope
    from hotline import registry

    registry.import_models()
    with session_scope() as db:
        for name, role, display in USERS:
            accounts.create_user(
                db=db, username=name, role=Role(role), password=PASSWORD, display_name=display
            )


if __name__ == "__main__":
    create_users()
