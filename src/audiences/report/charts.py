"""Small, dependency-free SVG charts for the run report (inline, no scripts)."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777")


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def bar_chart(items: list[tuple[str, float]], unit: str = "", width: int = 640) -> str:
    """Horizontal bars, one per (label, value), with the value printed."""
    if not items:
        return '<p class="muted">nothing to chart</p>'
    row, label_width = 22, 190
    top = max(value for _, value in items) or 1
    height = row * len(items) + 10
    bars = []
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        length = (width - label_width - 90) * value / top
        bars.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 8}"'
            f' fill="{PALETTE[0]}"><title>{escape(label)}: {_number(value)}{unit}</title></rect>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 15}">{_number(value)}{unit}</text>'
        )
    return (
        f'<svg class="chart" role="img" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(bars)
        + "</svg>"
    )


def line_chart(
    series: dict[str, list[tuple[str, float]]], width: int = 720, height: int = 260
) -> str:
    """Lines over shared x labels (e.g. run dates), with axes, ticks and a legend."""
    points = [value for values in series.values() for _, value in values]
    if not points:
        return '<p class="muted">no runs to chart yet</p>'
    xs = sorted({x for values in series.values() for x, _ in values})
    left, right, top, bottom = 60, 170, 15, 35
    plot_w, plot_h = width - left - right, height - top - bottom
    high = max(points) or 1

    def px(x: str) -> float:
        return left + (plot_w * xs.index(x) / (len(xs) - 1) if len(xs) > 1 else plot_w / 2)

    def py(value: float) -> float:
        return top + plot_h * (1 - value / high)

    parts = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"'
        ' stroke="#94a3b8"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#94a3b8"/>',
    ]
    for fraction in (0, 0.5, 1):
        value = high * fraction
        parts.append(
            f'<text x="{left - 6}" y="{py(value) + 4:.1f}" text-anchor="end">{value:,.0f}</text>'
        )
    for x in (xs[0], xs[-1]) if len(xs) > 1 else xs:
        parts.append(
            f'<text x="{px(x):.1f}" y="{height - 12}" text-anchor="middle">{escape(x)}</text>'
        )
    for i, (name, values) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{px(x):.1f},{py(v):.1f}" for x, v in values)
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{coords}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        for x, v in values:
            parts.append(
                f'<circle cx="{px(x):.1f}" cy="{py(v):.1f}" r="3" fill="{color}">'
                f"<title>{escape(name)} {escape(x)}: {v:,.0f}</title></circle>"
            )
        ly = top + 14 * i
        parts.append(
            f'<rect x="{left + plot_w + 12}" y="{ly}" width="10" height="10" fill="{color}"/>'
            f'<text x="{left + plot_w + 27}" y="{ly + 9}">{escape(name)}</text>'
        )
    full = max(height, top + 14 * len(series) + 10)  # room for the legend
    return (
        f'<svg class="chart" role="img" width="{width}" height="{full}"'
        f' viewBox="0 0 {width} {full}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(parts)
        + "</svg>"
    )


def sparkline(
    values: list[float],
    width: int = 120,
    height: int = 24,
    fmt: Callable[[float], str] | None = None,
) -> str:
    """A tiny trend line of recent values (the last point marked); its tooltip says the
    first and the last value and the range, each written by ``fmt``."""
    if not values:
        return ""
    fmt = fmt or (lambda v: f"{v:,.0f}")
    high, low = max(values), min(values)
    span = (high - low) or 1
    step = width / max(len(values) - 1, 1)
    coords = [
        (i * step if len(values) > 1 else width / 2, height - 3 - (height - 6) * (v - low) / span)
        for i, v in enumerate(values)
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    last_x, last_y = coords[-1]
    return (
        f'<svg class="spark" role="img" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(_runs_title(values, fmt))}</title>"
        f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="1.5" points="{line}"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" fill="{PALETTE[2]}"/></svg>'
    )


def _runs_title(values: list[float], fmt: Callable[[float], str]) -> str:
    runs = f"{len(values)} run" + ("" if len(values) == 1 else "s")
    if len(values) == 1:
        return f"{runs}: {fmt(values[0])}"
    return (
        f"{runs}: from {fmt(values[0])} to {fmt(values[-1])}"
        f" (lowest {fmt(min(values))}, highest {fmt(max(values))})"
    )


def reliability_chart(bins: list[tuple[float, float]], size: int = 220) -> str:
    """Predicted probability (x) against the observed rate (y) per bin, with the diagonal
    a calibrated score lies on; both axes 0 to 1."""
    pad = 30
    plot = size - 2 * pad

    def at(x: float, y: float) -> str:
        return f"{pad + plot * x:.1f},{pad + plot * (1 - y):.1f}"

    parts = [
        f'<rect x="{pad}" y="{pad}" width="{plot}" height="{plot}" fill="none" stroke="#94a3b8"/>',
        f'<polyline fill="none" stroke="#94a3b8" stroke-dasharray="4 3"'
        f' points="{at(0, 0)} {at(1, 1)}"/>',
        f'<text x="{pad}" y="{size - 8}">0</text>',
        f'<text x="{pad + plot}" y="{size - 8}" text-anchor="end">predicted 1</text>',
        f'<text x="{pad - 4}" y="{pad + 4}" text-anchor="end">1</text>',
        f'<text x="{pad}" y="{pad - 8}">observed</text>',
    ]
    if bins:
        line = " ".join(at(p, o) for p, o in bins)
        parts.append(
            f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="2" points="{line}"/>'
        )
        for p, o in bins:
            x, y = at(p, o).split(",")
            parts.append(
                f'<circle cx="{x}" cy="{y}" r="3" fill="{PALETTE[0]}">'
                f"<title>predicted {p:.3f}, observed {o:.3f}</title></circle>"
            )
    return (
        f'<svg class="chart" role="img" width="{size}" height="{size}"'
        f' viewBox="0 0 {size} {size}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(parts)
        + "</svg>"
    )
