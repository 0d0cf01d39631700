"""Small bar charts drawn as SVG on the server: readable, printable, no script; each chart
comes with its numbers as a table too."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, BAR, GAP, LABEL = 640, 26, 10, 250


@dataclass
class Bar:
    label: str
    value: float
    text: str  #: the value as shown


def bar_chart(title: str, bars: list[Bar], colour: str = "#0b5d4b") -> Markup:
    """Horizontal bars, one per label, labelled with their values; role=img with the title."""
    top = max((bar.value for bar in bars), default=0) or 1
    height = len(bars) * (BAR + GAP) + GAP
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    room = WIDTH - LABEL - 80
    for index, bar in enumerate(bars):
        y = GAP + index * (BAR + GAP)
        length = max(room * bar.value / top, 1 if bar.value else 0)
        parts.append(
            f'<text x="{LABEL - 8}" y="{y + BAR * 0.68:.1f}" text-anchor="end" '
            f'font-size="14" fill="#1f2328">{escape(_short(bar.label))}</text>'
            f'<rect x="{LABEL}" y="{y}" width="{length:.1f}" height="{BAR}" fill="{colour}"/>'
            f'<text x="{LABEL + length + 6:.1f}" y="{y + BAR * 0.68:.1f}" font-size="14" '
            f'fill="#1f2328">{escape(bar.text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def _short(label: str, limit: int = 30) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
