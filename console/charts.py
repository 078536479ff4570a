"""Server-side SVG charts and map: no chart library, nothing to load at run time."""

import html
from collections.abc import Sequence

from markupsafe import Markup

PALETTE = ("#1f5fbf", "#d92d20", "#1a7f37", "#b54708", "#7a5af8", "#0e9384", "#c11574", "#667085")


def _frame(width: int, height: int, body: list[str], title: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{html.escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{html.escape(title)}</title>{''.join(body)}</svg>"
    )


def nice_top(value: float) -> float:
    """An axis maximum ≥ value that divides into four readable ticks (4, 8, 20, 40, 100…)."""
    if value <= 4:
        return 4.0
    step = 1.0
    while step * 4 < value:
        for mult in (2, 2.5, 2):
            if step * 4 >= value:
                break
            step *= mult
    return step * 4


def _y_axis(top: float, left: int, plot_h: int, width: int, pad_top: int, fmt: str) -> list[str]:
    out = []
    for i in range(5):
        value = top * i / 4
        y = pad_top + plot_h - plot_h * i / 4
        out.append(
            f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef2f7"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{fmt.format(value)}</text>'
        )
    return out


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    width: int = 640,
    height: int = 220,
    fmt: str = "{:.0f}",
    color: str = PALETTE[0],
) -> Markup:
    """Vertical bars, one per label, with a value axis."""
    left, pad_top, pad_bottom = 40, 10, 28
    plot_h = height - pad_top - pad_bottom
    top = nice_top(max([*values, 1]))
    n = max(len(values), 1)
    slot = (width - left - 8) / n
    body = _y_axis(top, left, plot_h, width, pad_top, fmt)
    every = max(1, n // 10)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * value / top
        x = left + i * slot + slot * 0.15
        body.append(
            f'<rect x="{x:.1f}" y="{pad_top + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}" fill="{color}"><title>{html.escape(label)}: '
            f"{fmt.format(value)}</title></rect>"
        )
        if i % every == 0:
            body.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{height - 10}" text-anchor="middle">'
                f"{html.escape(label)}</text>"
            )
    return _frame(width, height, body, title)


def line_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    title: str,
    width: int = 640,
    height: int = 240,
    fmt: str = "{:.0f}",
    top: float | None = None,
) -> Markup:
    """One polyline per series with a legend; None values leave a gap."""
    left, pad_top, pad_bottom = 40, 10, 46
    plot_h = height - pad_top - pad_bottom
    flat = [v for vals in series.values() for v in vals if v is not None]
    top = top or nice_top(max([*flat, 1]))
    n = max(len(labels), 2)
    step = (width - left - 16) / (n - 1)
    body = _y_axis(top, left, plot_h, width, pad_top, fmt)
    every = max(1, n // 10)
    for i, label in enumerate(labels):
        if i % every == 0:
            body.append(
                f'<text x="{left + i * step:.1f}" y="{height - 30}" text-anchor="middle">'
                f"{html.escape(label)}</text>"
            )
    for k, (name, values) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        points = [
            f"{left + i * step:.1f},{pad_top + plot_h - plot_h * v / top:.1f}"
            for i, v in enumerate(values)
            if v is not None
        ]
        if points:
            body.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                f'points="{" ".join(points)}"><title>{html.escape(name)}</title></polyline>'
            )
        lx = left + (k % 2) * ((width - left) / 2)
        ly = height - 14 + (k // 2) * 14
        body.append(
            f'<rect x="{lx:.1f}" y="{ly - 8}" width="10" height="10" fill="{color}"/>'
            f'<text x="{lx + 14:.1f}" y="{ly + 1}">{html.escape(name[:26])}</text>'
        )
    return _frame(width, height + 14 * ((len(series) - 1) // 2), body, title)


def scatter_map(
    points: Sequence[dict],
    *,
    title: str,
    width: int = 640,
    height: int = 420,
) -> Markup:
    """A lat/lon scatter: each point {lat, lon, kind, label, href?}; kind (technician, ticket,
    ticket_open) picks the marker."""
    located = [p for p in points if p.get("lat") is not None and p.get("lon") is not None]
    if not located:
        return _frame(width, 60, ['<text x="10" y="30">没有带坐标的工单或技术员。</text>'], title)
    lats = [p["lat"] for p in located]
    lons = [p["lon"] for p in located]
    lat0, lat1 = min(lats), max(lats)
    lon0, lon1 = min(lons), max(lons)
    span_lat = max(lat1 - lat0, 0.01)
    span_lon = max(lon1 - lon0, 0.01)
    pad = 24

    def xy(p: dict) -> tuple[float, float]:
        x = pad + (p["lon"] - lon0) / span_lon * (width - 2 * pad)
        y = pad + (lat1 - p["lat"]) / span_lat * (height - 2 * pad)
        return x, y

    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f8fafc"/>']
    styles = {
        "technician": '<rect x="{x}" y="{y}" width="10" height="10" fill="#1a7f37"/>',
        "ticket": '<circle cx="{cx}" cy="{cy}" r="5" fill="#1f5fbf"/>',
        "ticket_open": '<circle cx="{cx}" cy="{cy}" r="6" fill="#d92d20"/>',
    }
    for p in located:
        x, y = xy(p)
        shape = styles.get(p.get("kind", "ticket"), styles["ticket"]).format(
            x=f"{x - 5:.1f}", y=f"{y - 5:.1f}", cx=f"{x:.1f}", cy=f"{y:.1f}"
        )
        label = html.escape(p.get("label", ""))
        item = f"<g><title>{label}</title>{shape}</g>"
        if p.get("href"):
            item = f'<a href="{html.escape(p["href"])}">{item}</a>'
        body.append(item)
    body.append(
        f'<text x="{pad}" y="{height - 6}">纬度 {lat0:.3f}–{lat1:.3f} · 经度 {lon0:.3f}–{lon1:.3f}'
        ' · <tspan fill="#1a7f37">■ 技术员</tspan> <tspan fill="#1f5fbf">● 已派工单</tspan>'
        ' <tspan fill="#d92d20">● 待派工单</tspan></text>'
    )
    return _frame(width, height, body, title)
