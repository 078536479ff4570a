"""Callers mix English into Chinese (空调 indoor unit 一直 leaking): the rules' English words
put the KB's Chinese beside them in the retrieval query, so the symptom is still found."""

from tests.conftest import Service
from triage.service import with_chinese

WORDS = {"pump": "水泵", "heat pump": "热泵", "ice": "结冰", "leaking": "漏水"}


def test_english_words_get_their_chinese_beside_them() -> None:
    text = with_chinese("Heat Pump外机全是ICE，drain pump一直leaking", WORDS)
    assert text == "Heat Pump热泵外机全是ICE结冰，drain pump水泵一直leaking漏水"
    # Only whole words: the ice in device, and model codes, stay as they are.
    assert with_chinese("device EG-300W offline", WORDS) == "device EG-300W offline"
    assert with_chinese("门锁没反应", {}) == "门锁没反应"


def test_a_call_in_half_english_is_diagnosed(service: Service) -> None:
    r = service.client.post(
        "/api/v1/intake/text",
        json={"text": "空调indoor unit一直leaking，drain pump好像不work了", "channel": "app"},
        headers=service.headers("agent"),
    )
    assert r.status_code == 201, r.text
    d = r.json()["diagnosis"]
    assert d["no_match"] is False
    assert d["kb_id"] == "AC-DRAIN-PUMP"
    # Extraction reads the caller's own words: the product is the one they named.
    assert r.json()["fields"]["product_type"] == "空调"


def test_a_product_named_only_in_english_is_the_product(service: Service) -> None:
    from triage.service import triage_text

    # The rules' English words are read before the facts: "fridge" names the 冰箱 of this KB.
    result = triage_text("我家 fridge 的 freezer 一直不冷，里面的东西都化了")
    assert result.fields["product_type"] == "冰箱"
    assert triage_text("my washing machine 一直 leaking").fields["product_type"] == "洗衣机"
