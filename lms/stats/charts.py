"""Charts as server-rendered SVG: no script, readable on old browsers, printable."""
from __future__ import annotations

from markupsafe import Markup, escape

COLOR_1 = "#2b6cb0"
COLOR_2 = "#38a169"
GOAL = "#c53030"


# Chart text is at least 14 px (read on office screens and printouts).
FONT = 14


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _label(name: str, room: int) -> str:
    """A region name that fits ``room`` pixels: whole, or cut at a character with "…" (never wrapped)."""
    fits = max(room // FONT, 2)
    return name if len(name) <= fits else name[:fits - 1] + "…"


def coverage_bars(rows: list[dict], goal_threshold: int, goal_key: str = "coverage", title: str = "",
                  legend: tuple[str, str] = ("≥1", "≥2"), goal_label: str = "") -> Markup:
    """Horizontal bars per region: ≥1 and ≥2 coverage side by side; the goal's bar is outlined."""
    row_h, bar_h, width = 40, 16, 720
    label_w = min(max((len(r["name"]) for r in rows), default=4) * FONT + 12, 200)
    plot_w = width - label_w - 60
    height = 40 + row_h * max(len(rows), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-label="{escape(title)}">']
    parts.append(f'<rect x="{label_w}" y="6" width="12" height="12" fill="{COLOR_1}"/>'
                 f'<text x="{label_w + 16}" y="17" font-size="{FONT}">{escape(legend[0])}</text>'
                 f'<rect x="{label_w + 90}" y="6" width="12" height="12" fill="{COLOR_2}"/>'
                 f'<text x="{label_w + 106}" y="17" font-size="{FONT}">{escape(legend[1])}</text>'
                 f'<text x="{label_w + 180}" y="17" font-size="{FONT}" fill="{GOAL}">{escape(goal_label)}</text>')
    for tick in (0, 0.25, 0.5, 0.75, 1):
        x = label_w + plot_w * tick
        parts.append(f'<line x1="{x:.1f}" y1="26" x2="{x:.1f}" y2="{height - 4}" stroke="#ddd"/>')
    for i, row in enumerate(rows):
        y = 30 + i * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h + 6}" font-size="{FONT}" text-anchor="end">'
                     f'{escape(_label(row["name"], label_w - 12))}</text>')
        for j, (key, color) in enumerate(((f"{goal_key}_1", COLOR_1), (f"{goal_key}_2", COLOR_2))):
            value = float(row.get(key, 0) or 0)
            by = y + j * (bar_h + 1)
            outline = f' stroke="{GOAL}" stroke-width="2"' if goal_threshold == j + 1 else ""
            parts.append(f'<rect x="{label_w}" y="{by}" width="{max(plot_w * value, 1):.1f}" height="{bar_h}" '
                         f'fill="{color}"{outline}><title>{escape(row["name"])} {escape(legend[j])}: '
                         f'{_pct(value)}</title></rect>'
                         f'<text x="{label_w + plot_w * value + 4:.1f}" y="{by + bar_h - 2}" font-size="{FONT}">'
                         f'{_pct(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_lines(points: list[dict], goal_threshold: int, key: str = "coverage", title: str = "",
                legend: tuple[str, str] = ("≥1", "≥2")) -> Markup:
    """Month-end coverage as two lines; the goal's line is drawn thicker."""
    width, height, left, bottom, top = 720, 240, 52, 34, 14
    plot_w, plot_h = width - left - 10, height - top - bottom
    n = max(len(points) - 1, 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-label="{escape(title)}">']
    for tick in (0, 0.25, 0.5, 0.75, 1):
        y = top + plot_h * (1 - tick)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 4}" y="{y + 5:.1f}" font-size="{FONT}" text-anchor="end">{_pct(tick)}</text>')
    for i, p in enumerate(points):
        if i % 3 == 0 or i == len(points) - 1:
            x = left + plot_w * i / n
            parts.append(f'<text x="{x:.1f}" y="{height - 10}" font-size="{FONT}" text-anchor="middle">'
                         f'{escape(p["month"])}</text>')
    for j, (field, color) in enumerate(((f"{key}_1", COLOR_1), (f"{key}_2", COLOR_2))):
        coords = " ".join(f"{left + plot_w * i / n:.1f},{top + plot_h * (1 - float(p[field])):.1f}"
                          for i, p in enumerate(points))
        stroke = 4 if goal_threshold == j + 1 else 2
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="{stroke}" points="{coords}">'
                     f'<title>{escape(legend[j])}</title></polyline>')
    parts.append("</svg>")
    return Markup("".join(parts))
