"""How many concurrent live calls one machine holds through the AudioSocket door.

    PYTHONPATH=. python -m eval.pbx_capacity --lines 4 8 16

A real `hotline serve` (with HOTLINE_AUDIOSOCKET_PORT) is started on a demo workspace. For
each load level, that many AudioSocket clients ("lines") each place calls back to back: the
dialplan's `POST /api/v1/calls` with a caller number, then the UUID frame, the telephone
fixture (8 kHz, μ-law round trip with line noise) as 20 ms slin frames at real-time pace
with 1 s of silence before and HANGUP_AFTER_S after the words, then the hangup frame.
Reported per level:
  ticket after the caller stops – ticket.created_at minus the wall time the last word was
    sent (p50/p95/max): an upper bound of the final text's latency, since the ticket needs
    the last final, then triage and the database write;
  dropped – calls that became no ticket; other number – tickets whose phone is not the
    registered caller's (right for c10, whose caller reads out another number);
  server CPU – the serving process's CPU seconds per wall second (cores busy) and per
    second of call audio.
AudioSocket cannot carry text back, so these calls decode no partials (intake/live_call.py);
partials of WebSocket and mod_audio_fork calls are measured by `hotline eval stream`.
"""

import argparse
import os
import socket
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np

from eval.console_server import Server

SPEECH_PAD_S = 1.0
HANGUP_AFTER_S = 0.6  # the caller hangs up just after the 0.5 s that ends an utterance
CALLS_PER_LINE = 2
FRAME_S = 0.02


def _calls() -> list[tuple[str, bytes, float]]:
    """(name, 8 kHz PCM, seconds from the start to the last word) per telephone fixture."""
    from asr.audio import decode, pcm16, resample
    from asr.streaming import speech_spans
    from eval.audio_tools import load, references, telephone

    out = []
    for ref in references():
        tel = decode(telephone(load(ref["file"])), max_seconds=600).mono()
        spans = speech_spans(tel)
        if not spans:
            continue
        end = spans[-1][1]
        lead = np.zeros(int(SPEECH_PAD_S * 16000), dtype=np.float32)
        tail = np.zeros(int(HANGUP_AFTER_S * 16000), dtype=np.float32)
        words = tel[: int(end * 16000)]
        samples = resample(np.concatenate([lead, words, tail]), 16000, 8000)
        out.append((ref["file"][:3], pcm16(samples), SPEECH_PAD_S + end))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _place_call(port: int, api: httpx.Client, call: tuple, caller: str) -> dict:
    """One call at real-time pace; returns its id and when its last word was sent."""
    name, pcm, words_end = call
    call_id = str(uuid.uuid4())
    api.post("/api/v1/calls", json={"call_id": call_id, "caller": caller, "line": "4008001234"})
    step = int(8000 * 2 * FRAME_S)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"\x01\x00\x10" + uuid.UUID(call_id).bytes)
        t0 = time.perf_counter()
        wall0 = time.time()
        for k, i in enumerate(range(0, len(pcm), step)):
            chunk = pcm[i : i + step]
            sock.sendall(b"\x10" + len(chunk).to_bytes(2, "big") + chunk)
            due = t0 + (k + 1) * FRAME_S
            time.sleep(max(0.0, due - time.perf_counter()))
        sock.sendall(b"\x00\x00\x00")
    return {
        "call": name,
        "call_id": call_id,
        "caller": caller,
        "words_end": wall0 + words_end,
        "audio_s": len(pcm) / 16000,
    }


def _line(port: int, server: Server, calls: list[tuple], n: int, out: list[dict]) -> None:
    with server.api() as api:
        for k in range(CALLS_PER_LINE):
            call = calls[(n * CALLS_PER_LINE + k) % len(calls)]
            out.append(_place_call(port, api, call, f"139{n:04d}{k:04d}"))


def _outcome(server: Server, placed: dict) -> tuple[float | None, str]:
    """Seconds from the last word to the ticket, and what became of the call: "ok",
    "no_ticket" (the call was lost) or "other_number" (the ticket lacks the line's caller
    number, which is right only when the caller said another one)."""
    with server.api() as api:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            call = api.get(f"/api/v1/calls/{placed['call_id']}").json()
            if call.get("ticket_id"):
                ticket = api.get(f"/api/v1/tickets/{call['ticket_id']}").json()
                created = datetime.fromisoformat(ticket["created_at"]).timestamp()
                same = ticket["fields"].get("phone") == placed["caller"]
                return created - placed["words_end"], "ok" if same else "other_number"
            time.sleep(0.5)
    return None, "no_ticket"


def _pct(values: list[float], q: float) -> float:
    vals = sorted(values)
    return vals[min(len(vals) - 1, round(q * (len(vals) - 1)))] if vals else float("nan")


def run_level(server: Server, port: int, calls: list[tuple], lines: int) -> dict:
    """All lines at once; the level's latencies, losses and CPU."""
    placed: list[dict] = []
    cpu0, t0 = cpu_seconds(server.pid), time.perf_counter()
    threads = [
        threading.Thread(target=_line, args=(port, server, calls, n, placed)) for n in range(lines)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcomes = [_outcome(server, p) for p in placed]
    cpu, wall = cpu_seconds(server.pid) - cpu0, time.perf_counter() - t0
    got = [v for v, _ in outcomes if v is not None]
    audio = sum(p["audio_s"] for p in placed)
    return {
        "lines": lines,
        "calls": len(placed),
        "dropped": len(placed) - len(got),
        "other_number": sum(why == "other_number" for _, why in outcomes),
        "p50": _pct(got, 0.5),
        "p95": _pct(got, 0.95),
        "max": max(got) if got else float("nan"),
        "cores_busy": cpu / wall,
        "cpu_per_audio_s": cpu / audio,
    }


def main(levels: list[int]) -> list[dict]:
    """Run every level on one server; print a table."""
    from eval.console_server import free_port, running_server

    load = os.getloadavg()[0]
    calls = _calls()
    port = free_port()
    os.environ["HOTLINE_AUDIOSOCKET_PORT"] = str(port)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="hotline-pbx-eval-") as tmp,
            running_server(Path(tmp)) as server,
        ):
            run_level(server, port, calls, 1)  # warm the model
            rows = [run_level(server, port, calls, n) for n in levels]
    finally:
        del os.environ["HOTLINE_AUDIOSOCKET_PORT"]
    print(f"load average before: {load:.1f} on {os.cpu_count()} CPUs")
    print("lines calls dropped other-number  ticket after the words p50/p95/max  cores busy")
    for r in rows:
        print(
            f"{r['lines']:5} {r['calls']:5} {r['dropped']:7} {r['other_number']:12}  "
            f"{r['p50']:6.2f} / {r['p95']:5.2f} / {r['max']:5.2f} s {'':7}"
            f"{r['cores_busy']:5.2f}"
        )
    ok = [r["lines"] for r in rows if r["dropped"] == 0 and r["p95"] <= 2.0]
    print(f"most lines with nothing dropped and p95 ≤ 2 s: {max(ok) if ok else 'none'}")
    print("server CPU-s per audio second:", [round(r["cpu_per_audio_s"], 3) for r in rows])
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[4, 8, 16])
    main(parser.parse_args().lines)
