"""The KB interchange format (DESIGN.md) and API shapes."""

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.schemas import ApiModel
from knowledge_base import severity

Severity = Literal["low", "medium", "high", "critical"]
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
ENTRY_FIELDS = (
    "id",
    "title",
    "product_type",
    "models",
    "firmware",
    "symptoms",
    "fault_code",
    "root_cause",
    "resolution",
    "remote_fixable",
    "parts",
    "skills",
    "severity",
)
LIST_FIELDS = ("models", "firmware", "symptoms", "parts", "skills")


class EntryData(BaseModel):
    """One fault entry as exchanged in JSONL/CSV/XLSX; unknown extra fields are kept."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    id: str
    title: str = Field(min_length=1, max_length=200)
    product_type: str = Field(min_length=1, max_length=50)
    models: list[str] = Field(default_factory=list)
    firmware: list[str] = Field(default_factory=list)
    symptoms: list[str] = Field(default_factory=list)
    fault_code: str | None = None
    root_cause: str = ""
    resolution: str = ""
    remote_fixable: bool = False
    parts: list[str] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)
    severity: Severity = "medium"

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if not ID_PATTERN.match(v):
            raise ValueError(
                "id must be 1-64 characters of letters, digits, '-', '_' or '.', "
                "starting with a letter or digit"
            )
        return v

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, v: Any) -> Any:
        return severity.to_level(v)

    @field_validator("fault_code", mode="before")
    @classmethod
    def _code(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = v.strip().upper()
            return v or None
        return v

    @field_validator("models", "firmware", "symptoms", "parts", "skills", mode="before")
    @classmethod
    def _list(cls, v: Any) -> Any:
        if v is None:
            return []
        if isinstance(v, str):
            # CSV/XLSX cells carry lists as "a|b|c" (also tolerate ; and 、 and newlines).
            return [p.strip() for p in re.split(r"[|;；、\n]", v) if p.strip()]
        return v

    @field_validator("remote_fixable", mode="before")
    @classmethod
    def _bool(cls, v: Any) -> Any:
        if isinstance(v, str):
            s = v.strip().lower()
            if s in {"", "0", "false", "no", "n", "否", "不可"}:
                return False
            if s in {"1", "true", "yes", "y", "是", "可"}:
                return True
        return v

    def to_dict(self) -> dict[str, Any]:
        """Plain dict in interchange order, extras last."""
        return self.model_dump(mode="json")


class EntryPatch(BaseModel):
    """A partial edit of an entry (becomes a draft until published)."""

    model_config = ConfigDict(extra="allow")

    title: str | None = None
    product_type: str | None = None
    models: list[str] | None = None
    firmware: list[str] | None = None
    symptoms: list[str] | None = None
    fault_code: str | None = None
    root_cause: str | None = None
    resolution: str | None = None
    remote_fixable: bool | None = None
    parts: list[str] | None = None
    skills: list[str] | None = None
    severity: Severity | None = None
    expected_revision: int | None = Field(
        default=None, description="Reject the edit with 409 if the entry changed since this."
    )
    reason: str | None = None

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, v: Any) -> Any:
        return None if v is None else severity.to_level(v)


class ActionIn(BaseModel):
    """Body of publish/retire."""

    reason: str | None = None
    expected_revision: int | None = None


class EntryOut(ApiModel):
    """An entry with its life-cycle state."""

    id: str
    status: Literal["draft", "published", "retired"]
    version: int
    revision: int
    published: dict[str, Any] | None
    draft: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class RevisionOut(ApiModel):
    """One line of an entry's history."""

    id: int
    at: datetime
    actor: str
    action: str
    version: int
    changes: dict[str, Any]
    reason: str | None


class RevisionList(ApiModel):
    """An entry's history, oldest first."""

    items: list[RevisionOut]


class EntryList(ApiModel):
    """A page of entries."""

    total: int
    items: list[EntryOut]


class ImportReport(ApiModel):
    """What an import did, or why it did nothing."""

    ok: bool
    format: str
    rows: int
    created: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    published: list[str] = Field(default_factory=list)
    submitted: list[str] = Field(
        default_factory=list,
        description="Entries left submitted for review: publishing needs a second person.",
    )
    errors: list[dict[str, Any]] = Field(default_factory=list)
    severity_mapping: dict[str, str] = Field(
        default_factory=dict,
        description="The file's own severity labels and the level each was read as.",
    )


class SearchHit(ApiModel):
    """One entry the hybrid index ranks for a query, with its fused and per-method scores."""

    kb_id: str
    title: str | None = None
    score: float
    bm25: float
    dense: float


class SearchOut(ApiModel):
    """Hits, best first."""

    items: list[SearchHit]


class ReviewRequestOut(ApiModel):
    """A draft revision submitted for a second person's review, and what became of it."""

    id: int
    entry_id: str
    revision: int
    status: str
    submitted_by: str
    decided_by: str | None = None
    note: str | None = None
