"""Triage of one text: normalise → repair homophones → extract → diagnose → field chain."""

import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from core.errors import ApiError
from core.settings import get_settings
from knowledge_base import live_index
from knowledge_base.embeddings import Encoder
from knowledge_base.index import Candidate, HybridIndex
from triage import confidence, diagnose, fault_report, field_chain, phones
from triage.complaint import without_normal
from triage.entities import FIELD_NAMES, Vocabulary, extract, named_by_front
from triage.homophones import CodeFixer, HomophoneFixer, vocabulary_terms
from triage.normalize import get_normalizer
from triage.result import TriageResult
from triage.rules import get_rules

POOL = 20
MAX_CANDIDATES = 5
NEAR_MISS_SHARE = 0.3  # of the no-match cut: how close a near miss must be to name the product
REMOTE_FIRST = "优先远程处理，暂不需要上门"
SITE_VISIT = "需要安排上门处理"


@dataclass
class _Lexicon:
    generation: int
    vocab: Vocabulary
    fixer: HomophoneFixer
    codes: CodeFixer


_lexicon_lock = threading.Lock()
_lexicon: dict[int, _Lexicon] = {}


def _lexicon_for(index: HybridIndex) -> _Lexicon:
    """Vocabulary and homophone map of the index's current entries (rebuilt after publishes)."""
    key = id(index)
    lex = _lexicon.get(key)
    if lex is not None and lex.generation == index.generation:
        return lex
    with _lexicon_lock:
        rules = get_rules()
        entries = list(index.entries.values())
        vocab = Vocabulary.build(entries, rules.synonym_to_product)
        terms = vocabulary_terms(entries, rules.synonym_to_product.keys(), index.tokenizer)
        lex = _Lexicon(
            index.generation,
            vocab,
            HomophoneFixer(terms, index.tokenizer),
            CodeFixer(vocab.code_product),
        )
        # Two indexes at most: the live one and the console's draft copy ("try a query"), so
        # alternating between them does not rebuild each lexicon on every call.
        _lexicon.pop(key, None)
        while len(_lexicon) >= 2:
            _lexicon.pop(next(iter(_lexicon)))
        _lexicon[key] = lex
        return lex


def clean_text(text: str, index: HybridIndex | None = None) -> str:
    """Speech-recognised text in triage's canonical form: simplified, digits, KB words repaired."""
    lex = _lexicon_for(index or live_index.get_index())
    return lex.fixer.fix(get_normalizer()(text, before_numbers=lex.codes.fix))[0]


def asr_hotwords(index: HybridIndex | None = None) -> str:
    """What the KB names — models, fault codes, product types — as hotwords for the speech
    model (Whisper reads at most ~220 tokens of prompt, so the list is cut there)."""
    vocab = _lexicon_for(index or live_index.get_index()).vocab
    words = [
        *sorted(set(vocab.synonyms.values())),
        *sorted(set(vocab.models.values())),
        *sorted(vocab.code_product),
    ]
    return " ".join(words)[:400]


def validate_text(text: str) -> str:
    """The text stripped, or a 422 saying what is wrong with it."""
    limit = get_settings().max_text_chars
    if text is None or not text.strip():
        raise ApiError(422, "empty_text", "The text is empty: send what the caller said.")
    if len(text) > limit:
        raise ApiError(
            413,
            "text_too_long",
            f"The text has {len(text)} characters; the limit is {limit} "
            "(HOTLINE_MAX_TEXT_CHARS). Send one caller's description per request.",
        )
    return text.strip()


def retrieval_text(text: str, fields: dict[str, Any]) -> str:
    """The caller's words without contact details, which only add noise to matching."""
    for name in ("phone", "address", "customer_name"):
        value = fields.get(name)
        if value:
            text = text.replace(value, " ")
    return text


@dataclass
class Analysis:
    """Everything triage learns from a text before scoring the candidates."""

    text: str
    normalized: str
    fixes: list[tuple[str, str]]
    fields: dict[str, Any]
    candidates: list[Candidate]
    features: list[dict[str, float]]
    non_fault: bool = False
    request_like: float = 0.0
    not_a_fault_report: float = 0.0
    # The KB product types a word the caller said names together (储能 → two types).
    product_family: frozenset[str] = frozenset()
    product_front: str | None = None  # the type the front of whose name was said
    # The whole text's and the complaint's vectors (fault_report_penalty reads them again).
    said_vector: np.ndarray | None = None
    complaint_vector: np.ndarray | None = None


@dataclass
class _Reading:
    """What triage reads from a text before retrieval: its form and the query to embed."""

    text: str
    normalized: str
    fixes: list[tuple[str, str]]
    fields: dict[str, Any]
    query: str  # what is matched: the complaint, without what the caller says still works
    product_family: frozenset[str] = frozenset()
    said: str = ""  # the whole retrieval text, complaint and reassurance alike
    product_front: str | None = None


@lru_cache(maxsize=4)
def _english_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z])({alternatives})(?![A-Za-z])", re.IGNORECASE)


def with_chinese(query: str, english: dict[str, str]) -> str:
    """The query with the Chinese of each English word the caller mixed in written beside it
    (外机全是ice → 外机全是ice结冰): the KB is written in Chinese, so BM25 and the embedding
    find the symptom either way."""
    pattern = _english_pattern(tuple(english))
    if pattern is None:
        return query
    return pattern.sub(lambda m: m.group(0) + english[m.group(0).lower()], query)


def _read(text: str, index: HybridIndex) -> _Reading:
    normalized = get_normalizer()(text)
    lex = _lexicon_for(index)
    repaired, fixes = lex.fixer.fix(normalized)
    # The Chinese of the English words mixed in is written beside them before anything is read,
    # so "Purifier 的 PM2.5 reading" names the product as much as 净化器 would.
    glossed = with_chinese(repaired, get_rules().english_words)
    fields = extract(glossed, lex.vocab)
    # Phone numbers are read before the homophone repair: 分机 216 is no 风机.
    if numbers := phones.numbers(normalized):
        fields["phone"], fields["phones"] = numbers[0], numbers
    said = retrieval_text(glossed, fields)
    query = without_normal(said)
    lower = glossed.lower()
    family = frozenset(t for w, ts in lex.vocab.families.items() if w in lower for t in ts)
    front = named_by_front(lower, lex.vocab)
    return _Reading(text, repaired, fixes, fields, query, family, said, front)


def _retrieve(
    r: _Reading, index: HybridIndex, qvec: np.ndarray | None = None, svec: np.ndarray | None = None
) -> Analysis:
    if qvec is None:
        qvec = index.encoder.encode([r.query])
    if svec is None:
        svec = qvec if r.said == r.query else index.encoder.encode([r.said])
    cands = _candidates(r, index, qvec)
    non_fault = any(cue in r.normalized for cue in get_rules().non_fault_cues)
    requests = request_vectors(index.encoder)
    like = float((requests @ svec.reshape(-1)).max()) if len(requests) else 0.0
    model = fault_report.shipped(index.encoder)
    penalty = model.penalty(_report_inputs(index, cands, svec, qvec)) if model else 0.0
    feats = diagnose.features(cands, r.fields, non_fault, like, penalty)
    return Analysis(
        r.text,
        r.normalized,
        r.fixes,
        r.fields,
        cands,
        feats,
        non_fault,
        like,
        penalty,
        r.product_family,
        r.product_front,
        svec,
        qvec,
    )


def _candidates(r: _Reading, index: HybridIndex, qvec: np.ndarray) -> list[Candidate]:
    cands = index.search_encoded(qvec, index.tokenizer.tokens(r.query), k=POOL, pool=POOL)
    if r.fields.get("fault_code"):
        cands = _with_code_matches(index, cands, r.query, r.fields["fault_code"], qvec)
    return cands


def _report_inputs(
    index: HybridIndex, cands: list[Candidate], svec: np.ndarray, qvec: np.ndarray
) -> np.ndarray:
    nearest = [index.nearest_vector(c.kb_id, qvec) for c in cands[:2]]
    return fault_report.inputs(svec, qvec, nearest)


def fault_report_penalty(a: Analysis, candidates: list[Candidate], index: HybridIndex) -> float:
    """The fault-report penalty of an analysed text were these its candidates (a KB fit's
    call about an entry the KB is made to lack: triage/calibration.py)."""
    model = fault_report.shipped(index.encoder)
    if model is None or a.said_vector is None or a.complaint_vector is None:
        return a.not_a_fault_report
    return model.penalty(_report_inputs(index, candidates, a.said_vector, a.complaint_vector))


_requests_lock = threading.Lock()
_requests: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}


def request_vectors(encoder: Encoder) -> np.ndarray:
    """The rules' examples of non-fault requests (invoices, installation …), embedded once:
    a call close to one of them is a request, not a fault, whatever words it uses."""
    texts = tuple(get_rules().out_of_scope_requests)
    key = (id(encoder), texts)
    vecs = _requests.get(key)
    if vecs is None:
        vecs = encoder.encode(list(texts))
        with _requests_lock:
            _requests.clear()
            _requests[key] = vecs
    return vecs


def analyse(text: str, index: HybridIndex) -> Analysis:
    """Normalise, repair homophones, extract fields, retrieve candidates and their features."""
    return _retrieve(_read(text, index), index)


def fault_report_inputs(texts: list[str], index: HybridIndex) -> np.ndarray:
    """What the fault-report check reads of each text (fault_report.inputs), one row each."""
    readings = [_read(t, index) for t in texts]
    said, complaint = _vectors(readings, index)
    return np.vstack(
        [
            _report_inputs(
                index, _candidates(r, index, complaint[i : i + 1]), said[i], complaint[i]
            )
            for i, r in enumerate(readings)
        ]
    )


def _vectors(readings: list[_Reading], index: HybridIndex) -> tuple[np.ndarray, np.ndarray]:
    """The vectors of the readings' whole texts and of their complaints, in two encoder calls
    at most (most calls say nothing still works: their two texts are one)."""
    complaint = index.encoder.encode([r.query for r in readings])
    said = complaint.copy()
    differ = [i for i, r in enumerate(readings) if r.said != r.query]
    if differ:
        said[differ] = index.encoder.encode([readings[i].said for i in differ])
    return said, complaint


def analyse_many(texts: list[str], index: HybridIndex) -> list[Analysis]:
    """analyse() of several texts, their queries embedded in one encoder call: on CPU a batch
    of 64 costs about 1/30 per text of single calls (docs/imports.md)."""
    readings = [_read(t, index) for t in texts]
    said, complaint = _vectors(readings, index)
    return [
        _retrieve(r, index, complaint[i : i + 1], said[i : i + 1]) for i, r in enumerate(readings)
    ]


def triage_text(text: str, index: HybridIndex | None = None) -> TriageResult:
    """Full triage of one text; returns fields, required fields and the diagnosis."""
    return triage_texts([text], index)[0]


def triage_texts(texts: list[str], index: HybridIndex | None = None) -> list[TriageResult]:
    """Full triage of several texts, each result the same as triage_text's, with all their
    queries embedded in one encoder call (analyse_many). An invalid text raises its 4xx; check
    texts first with validate_text where one bad text must not stop the others. latency_ms is
    the batch's time per text."""
    started = time.perf_counter()
    texts = [validate_text(t) for t in texts]
    index = index or live_index.get_index()
    results = [_triage(a, index) for a in analyse_many(texts, index)]
    latency = round((time.perf_counter() - started) * 1000 / max(len(texts), 1), 2)
    for result in results:
        result.latency_ms = latency
    return results


def _triage(a: Analysis, index: HybridIndex) -> TriageResult:
    settings = get_settings()
    rules = get_rules()
    text = a.text
    fields = a.fields
    calibration = confidence.active(index.encoder.name)
    scored = sorted(
        ((calibration.probability(f), c, f) for c, f in zip(a.candidates, a.features, strict=True)),
        key=lambda t: t[0],
        reverse=True,
    )
    top_p = scored[0][0] if scored else 0.0
    cut = calibration.threshold
    threshold = diagnose.cut_for(settings.no_match_threshold, cut)
    no_match = top_p < threshold
    seen = diagnose.shown_ranked([p for p, _, _ in scored[:MAX_CANDIDATES]], cut)
    candidates = [
        {
            "kb_id": c.kb_id,
            "title": c.entry.get("title"),
            "score": round(c.rrf, 6),
            "confidence": round(shown_p, 4),
            "why": diagnose.why(f, fields, c.entry.get("product_type")),
            "resolution": c.entry.get("resolution"),
            "remote_fixable": bool(c.entry.get("remote_fixable")),
        }
        for shown_p, (_, c, f) in zip(seen, scored[:MAX_CANDIDATES], strict=True)
    ]
    top_entry = None if no_match or not scored else scored[0][1].entry
    # Where the product type comes from: what was said (a word, a model, a code), else a
    # confident diagnosis (a lock that "按手指没反应" is a 智能门锁), else near misses.
    product_source = "said" if fields.get("product_type") else None
    if top_entry and top_entry.get("product_type") in fields.get("products", ()):
        # The caller named several types (光猫 and 光纤): the confident diagnosis says which.
        fields = {**fields, "product_type": top_entry["product_type"]}
    if top_entry and not product_source and top_entry.get("product_type"):
        fields = {**fields, "product_type": top_entry["product_type"]}
        product_source = "diagnosis"
    elif not top_entry and not product_source and a.product_front:
        fields = {**fields, "product_type": a.product_front}
        product_source = "said"
    elif not top_entry and not product_source:
        product = _product_of_near_misses(scored, threshold, a.product_family)
        fields = {**fields, "product_type": product}
        product_source = "near_misses" if fields["product_type"] else None
    fault_text = a.normalized
    if top_entry:
        fault_text += (
            " " + top_entry.get("title", "") + " " + " ".join(top_entry.get("symptoms", []))
        )
    chain_fields = {**fields, "kb_id": top_entry["id"] if top_entry else None}
    required = field_chain.evaluate(rules, chain_fields, fault_text)
    diagnosis: dict[str, Any] = {
        "no_match": no_match,
        "confidence": round(seen[0], 4) if seen else 0.0,
        "threshold": round(diagnose.shown(threshold, cut), 4),
        "kb_id": top_entry["id"] if top_entry else None,
        "candidates": candidates,
        "calibration": calibration.source,
        "product_source": product_source,
    }
    if no_match:
        diagnosis["no_match_reason"] = _no_match_reason(scored, diagnosis, calibration)
    if top_entry:
        diagnosis.update(
            title=top_entry.get("title"),
            root_cause=top_entry.get("root_cause"),
            resolution=top_entry.get("resolution"),
            remote_fixable=bool(top_entry.get("remote_fixable")),
            action=REMOTE_FIRST if top_entry.get("remote_fixable") else SITE_VISIT,
            parts=top_entry.get("parts", []),
            skills=top_entry.get("skills", []),
            severity=top_entry.get("severity"),
        )
    severity = top_entry.get("severity") if top_entry else None
    return TriageResult(
        text=text,
        normalized_text=a.normalized,
        homophone_fixes=[{"heard": h, "meant": m} for h, m in a.fixes],
        fields={
            **{name: fields.get(name) for name in FIELD_NAMES},
            **({"phones": fields["phones"]} if fields.get("phones") else {}),
        },
        required_fields=required,
        missing_fields=[r["name"] for r in required if r["missing"]],
        diagnosis=diagnosis,
        severity=severity,
        sla_class=rules.sla_classes.get(severity or "medium", "P3"),
    )


def _product_of_near_misses(
    scored: list[tuple[float, Candidate, dict[str, float]]],
    threshold: float,
    family: frozenset[str],
) -> str | None:
    """No diagnosis, and the caller said a word that names several product types (储能,
    电梯): the best candidate's, when it is one of them and not far below the cut. A call
    that names no product at all gets none: near misses of a product the KB lacks (a range
    hood in a KB without one) would only guess. On the tuning sets: energy 5 of 331 calls more
    right, ours none wrong (two agreeing candidates without the word: 6 more, 1 wrong)."""
    if not family or not scored or scored[0][0] < threshold * NEAR_MISS_SHARE:
        return None
    product = scored[0][1].entry.get("product_type")
    return product if product in family else None


def _by_value(kv: tuple[str, float]) -> float:
    return kv[1]


def _by_size(kv: tuple[str, float]) -> float:
    return -abs(kv[1])


def _no_match_reason(
    scored: list[tuple[float, Candidate, dict[str, float]]],
    diagnosis: dict[str, Any],
    calibration: diagnose.Calibration,
) -> dict[str, Any]:
    """Why no entry was taken: the best candidate, its confidence against the threshold (both
    as shown), and the features that held it back most (log-odds, most negative first)."""
    threshold = diagnosis["threshold"]
    if not scored:
        return {"best_kb_id": None, "confidence": 0.0, "threshold": threshold, "held_back": {}}
    _, cand, feats = scored[0]
    parts = diagnose.contributions(calibration, feats)
    return {
        "best_kb_id": cand.kb_id,
        "confidence": diagnosis["confidence"],
        "threshold": threshold,
        "held_back": dict(sorted((kv for kv in parts.items() if kv[1] < 0), key=_by_value)[:3]),
        "pushed_up": dict(sorted((kv for kv in parts.items() if kv[1] > 0), key=_by_size)[:3]),
    }


def _with_code_matches(
    index: HybridIndex, cands: list[Candidate], query: str, code: str, qvec: np.ndarray
) -> list[Candidate]:
    """Make sure entries carrying the fault code the caller read out are considered."""
    have = {c.kb_id for c in cands}
    missing = [k for k in index.by_code.get(code.upper(), ()) if k not in have]
    if not missing:
        return cands
    extra = index.score_entries(query, missing, qvec)
    return cands + extra
