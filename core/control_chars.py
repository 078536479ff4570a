"""Control characters in what callers send: refused at the door, before any reaches a database.

PostgreSQL refuses a NUL in any text or JSON value (the driver raises a DataError mid-request),
SQLite stores it; both store the other C0/C1 controls, which later break XLSX exports, CSV cells
and pages. So every HTTP request is checked once, whatever the route: its path and query
parameters, its JSON body (keys included) or form fields and file names, and the
Idempotency-Key header (stored). A value with one is a 422 `control_character` naming the
field; line feeds, carriage returns and tabs pass (free text holds them). Lone surrogates
(text that is not Unicode, e.g. JSON's "\\ud800") are refused the same way.
"""

import re
from collections.abc import Iterator
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import WebSocketException
from starlette.requests import HTTPConnection, Request

from core.errors import ApiError

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Where a field sits, in the words of the message.
PLACES = {
    "path": "路径参数",
    "query": "查询参数",
    "header": "请求头",
    "body": "字段",
    "form": "表单字段",
    "file": "上传文件名",
    "column": "列",
}
STORED_HEADERS = ("idempotency-key",)


def _leaves(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every (path, text) in a JSON-like value: strings, and the keys of its objects."""
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for key, inner in item.items():
                inner_path = f"{where}.{key}" if where else str(key)
                if isinstance(key, str):
                    yield inner_path, key
                stack.append((inner_path, inner))
        elif isinstance(item, list | tuple):
            stack.extend((f"{where}[{i}]", inner) for i, inner in enumerate(item))


def find(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first (path, character) of a control character in a string or a JSON-like value
    (object keys included), or None when it has none."""
    for where, text in _leaves(value, path):
        if m := CONTROL.search(text):
            return where, m.group()
    return None


def strip(value: Any) -> Any:
    """value with every control character removed from its strings (object keys included)."""
    if isinstance(value, str):
        return CONTROL.sub("", value)
    if isinstance(value, dict):
        return {strip(k): strip(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(strip(v) for v in value)
    return value


def message(place: str, field: str, char: str) -> str:
    """The Chinese message of a refused value."""
    return (
        f"{PLACES.get(place, place)}“{field}”含有不可见的控制字符 U+{ord(char):04X}，"
        "请删掉后重新提交（文本中只允许换行、回车和制表符）。"
    )


def problem(char: str) -> str:
    """The character, in English, for a report's `problem` (as pydantic's messages are)."""
    return f"control character U+{ord(char):04X} (only \\t, \\n and \\r are accepted)"


def refusal(place: str, field: str, char: str) -> ApiError:
    """The 422 for a value holding a control character (details name the field, as pydantic's
    validation errors do)."""
    return ApiError(
        422,
        "control_character",
        message(place, field, char),
        details=[{"field": field, "in": place, "problem": problem(char)}],
    )


def check(value: Any, *, place: str, field: str = "") -> None:
    """Raise the 422 when value (a string or a JSON-like value) holds a control character."""
    if found := find(value, field):
        raise refusal(place, found[0] or field, found[1])


async def _body_fields(request: Request) -> list[tuple[str, str, Any]]:
    """(place, name, value) of what the body holds: JSON, or form fields and file names.
    FastAPI has already read the body of a route that declares one (cached on the request)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return [("body", "", await request.json())]
        except ValueError:  # empty or not JSON: the route's own parsing answers it
            return []
    if kind not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return []
    return [
        ("file", name, value.filename or "")
        if isinstance(value, UploadFile)
        else ("form", name, value)
        for name, value in (await request.form()).multi_items()
    ]


async def refuse_control_characters(conn: HTTPConnection) -> None:
    """Dependency applied to every route of the app and the console: a 422 (a WebSocket: close
    4400) when a parameter, body field or file name holds a control character."""
    params = [("path", k, v) for k, v in conn.path_params.items() if isinstance(v, str)]
    params += [("query", k, v) for k, v in conn.query_params.multi_items()]
    if conn.scope["type"] != "http":
        for place, name, value in params:
            if find(value):
                raise WebSocketException(4400, f"control character in {place} parameter {name}")
        return
    params += [("header", h, conn.headers[h]) for h in STORED_HEADERS if h in conn.headers]
    assert isinstance(conn, Request)
    for place, name, value in [*params, *await _body_fields(conn)]:
        if found := find(value, name):
            raise refusal(place, found[0] or name or "body", found[1])
