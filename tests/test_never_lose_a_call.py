"""A call with speech is never refused as no_speech: noisy and faint 8 kHz speech becomes a
ticket; speech the recogniser cannot read becomes a ticket held for listening; only a call in
which the VAD hears nobody at all is no_speech."""

import numpy as np
import pytest

from asr.audio import dbfs
from eval.audio_tools import add_noise, encode, load, telephone
from tests.conftest import Service

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def post(svc: Service, data: bytes):
    return svc.client.post(
        "/api/v1/intake/audio", files={"file": ("call.wav", data)}, headers=svc.headers("agent")
    )


@pytest.mark.parametrize(("name", "snr"), [("c03.wav", 5), ("c07.wav", 0), ("c13.wav", 0)])
def test_noisy_8k_speech_is_not_refused(shared_service: Service, name: str, snr: int) -> None:
    r = post(shared_service, telephone(add_noise(load(name), snr, seed=snr)))
    assert r.status_code == 201, r.text


def test_faint_line_is_read(shared_service: Service) -> None:
    speech = load("c02.wav")
    faint = (speech * 10 ** ((-60 - dbfs(speech)) / 20)).astype(np.float32)  # below -55 dBFS
    r = post(shared_service, encode(faint, out_rate=8000))
    assert r.status_code == 201, r.text
    assert "充电" in "".join(s["text"] for s in r.json()["transcript"])


def test_line_noise_alone_is_still_no_speech(shared_service: Service) -> None:
    noise = np.random.default_rng(3).normal(0, 0.03, 16000 * 5).astype(np.float32)
    r = post(shared_service, telephone(noise))
    assert r.status_code == 422 and r.json()["error"]["code"] == "no_speech"


def test_speech_not_read_becomes_a_ticket_held_for_listening(shared_service: Service) -> None:
    from core.db import session_scope
    from intake.audio import ticket_from_transcript
    from intake.calls import CallFacts
    from tickets.service import history, ticket_view

    with session_scope() as db:
        ticket = ticket_from_transcript(
            db=db,
            segments=[],
            notes=[],
            duration=7.0,
            channel="phone",
            actor="test",
            heard_speech=True,
            call=CallFacts("unread-1", caller="13900006666", door="audiosocket"),
        )
        view = ticket_view(ticket)
        notes = " ".join(e.reason or "" for e in history(db=db, ticket_id=ticket.id))
    assert view["status"] == "pending_qc"  # nothing acts on it before someone listens
    assert view["fields"]["needs_listening"] is True
    assert view["fields"]["phone"] == "13900006666"
    assert view["diagnosis"]["no_match"] and not view["diagnosis"]["candidates"]
    assert "needs_listening" in notes
