"""Bridge connectors: one YAML file per outside system (IoT platform, CRM, ERP …) in the
`bridges_dir` folder, each an HTTP/JSON call for a device with a field mapping.

    name: iot                      # unique; stored on every enrichment row
    system: iot                    # iot | crm | erp | any label
    enabled: true
    url: http://iot.example/api/devices/{hardware_id}/stats   # {ticket field} placeholders
    method: GET                    # GET or POST (POST sends `body`, placeholders filled)
    headers: {X-Token: "${IOT_TOKEN}"}                         # ${ENV} from the environment
    timeout_s: 3                   # default HOTLINE_BRIDGE_TIMEOUT_S
    product_types: [电梯]          # optional: only for these products
    for_each: part                 # optional: one call per diagnosed part ({part} in url)
    fields:                        # stored name: dotted path in the JSON answer
      runs_since_service: data.runsSinceMaintenance
"""

import os
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import yaml

from core.settings import get_settings

PLACEHOLDER = re.compile(r"\{(\w+)\}")
ENV = re.compile(r"\$\{(\w+)\}")


class ConnectorError(ValueError):
    """A connector file is malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class Connector:
    """One configured outside system."""

    name: str
    system: str
    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    timeout_s: float | None = None
    product_types: tuple[str, ...] = ()
    for_each: str | None = None
    fields: dict[str, str] = field(default_factory=dict)

    def applies_to(self, context: dict[str, Any]) -> bool:
        """Whether this connector has what it needs for the ticket (device code, product)."""
        if self.product_types and context.get("product_type") not in self.product_types:
            return False
        needed = set(PLACEHOLDER.findall(self.url)) - {"part"}
        if self.for_each == "part" and not context.get("parts"):
            return False
        return all(context.get(name) for name in needed)


@dataclass
class Outcome:
    """What one connector returned for one ticket."""

    connector: Connector
    status: str  # ok | timeout | error
    data: dict[str, Any]
    error: str | None
    duration_ms: int


def load_connectors(folder: Path | None = None) -> list[Connector]:
    """The enabled connectors of the folder (none when it does not exist)."""
    folder = folder or get_settings().resolved_bridges_dir
    if not folder.is_dir():
        return []
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.y*ml")))
    return list(_load(folder, stamp))


@lru_cache(maxsize=8)
def _load(folder: Path, stamp: tuple[tuple[str, int], ...]) -> tuple[Connector, ...]:
    out = []
    for name, _ in stamp:
        path = folder / name
        if path.stem == "advice":
            continue  # the advice rules live next to the connectors
        out.extend(_parse(path))
    return tuple(out)


def _parse(path: Path) -> list[Connector]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConnectorError(f"{path}: {exc}") from exc
    if not isinstance(raw, dict) or not raw.get("url") or not raw.get("name"):
        raise ConnectorError(f"{path}: a connector needs at least 'name' and 'url'")
    if not raw.get("enabled", True):
        return []
    method = str(raw.get("method", "GET")).upper()
    if method not in ("GET", "POST"):
        raise ConnectorError(f"{path}: method must be GET or POST, not {method}")
    fields = raw.get("fields") or {}
    if not isinstance(fields, dict):
        raise ConnectorError(f"{path}: 'fields' must map stored names to JSON paths")
    return [
        Connector(
            name=str(raw["name"]),
            system=str(raw.get("system", raw["name"])),
            url=str(raw["url"]),
            method=method,
            headers={str(k): str(v) for k, v in (raw.get("headers") or {}).items()},
            body=raw.get("body"),
            timeout_s=float(raw["timeout_s"]) if raw.get("timeout_s") else None,
            product_types=tuple(raw.get("product_types") or ()),
            for_each=raw.get("for_each"),
            fields={str(k): str(v) for k, v in fields.items()},
        )
    ]


def fill_template(template: Any, context: dict[str, Any]) -> Any:
    """Fill {name} from context and ${NAME} from the environment, in nested values."""
    if isinstance(template, str):
        text = ENV.sub(lambda m: os.environ.get(m.group(1), ""), template)
        return PLACEHOLDER.sub(lambda m: str(context.get(m.group(1), "")), text)
    if isinstance(template, dict):
        return {k: fill_template(v, context) for k, v in template.items()}
    if isinstance(template, list):
        return [fill_template(v, context) for v in template]
    return template


def pick(doc: Any, path: str) -> Any:
    """The value at a dotted path (list positions as numbers), or None."""
    for part in path.split("."):
        if isinstance(doc, dict):
            doc = doc.get(part)
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return None
    return doc


def _call(connector: Connector, context: dict[str, Any], client: httpx.Client) -> dict[str, Any]:
    url = fill_template(connector.url, context)
    headers = fill_template(connector.headers, context)
    if connector.method == "POST":
        resp = client.post(url, headers=headers, json=fill_template(connector.body or {}, context))
    else:
        resp = client.get(url, headers=headers)
    if resp.status_code // 100 != 2:
        raise httpx.HTTPStatusError(
            f"HTTP {resp.status_code}: {resp.text[:200]}", request=resp.request, response=resp
        )
    doc = resp.json()
    if not connector.fields:
        return doc if isinstance(doc, dict) else {"value": doc}
    return {name: pick(doc, path) for name, path in connector.fields.items()}


def fetch(connector: Connector, context: dict[str, Any]) -> Outcome:
    """Call the connector for a ticket; a timeout or any failure is an outcome, never raised."""
    timeout = connector.timeout_s or get_settings().bridge_timeout_s
    started = time.perf_counter()
    try:
        with httpx.Client(timeout=timeout) as client:
            if connector.for_each == "part":
                data: dict[str, Any] = {
                    "parts": {
                        part: _call(connector, {**context, "part": part}, client)
                        for part in context.get("parts", [])
                    }
                }
            else:
                data = _call(connector, context, client)
        status, error = "ok", None
    except httpx.TimeoutException:
        data, status, error = {}, "timeout", f"no answer within {timeout:g} s"
    except (httpx.HTTPError, ValueError) as exc:
        data, status, error = {}, "error", f"{type(exc).__name__}: {exc}"[:500]
    return Outcome(connector, status, data, error, round((time.perf_counter() - started) * 1000))
