"""Small bar charts drawn as SVG on the server: readable, printable, no script; each chart
comes with its numbers as a table too."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

WIDTH, BAR, GAP, LABEL = 640, 26, 10, 250


@dataclass
class Bar:
    label: str
    value: float
    text: str  #: the value as shown


#: Markup templates: format() escapes every value put into them
SVG_OPEN = Markup(
    '<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
    'aria-label="{title}" xmlns="http://www.w3.org/2000/svg"><title>{title}</title>'
)
SVG_BAR = Markup(
    '<text x="{label_x}" y="{text_y:.1f}" text-anchor="end" font-size="14" fill="#1f2328">'
    "{label}</text>"
    '<rect x="{bar_x}" y="{y}" width="{length:.1f}" height="{bar}" fill="{colour}"/>'
    '<text x="{value_x:.1f}" y="{text_y:.1f}" font-size="14" fill="#1f2328">{value}</text>'
)
SVG_CLOSE = Markup("</svg>")


def bar_chart(title: str, bars: list[Bar], colour: str = "#0b5d4b") -> Markup:
    """Horizontal bars, one per label, labelled with their values; role=img with the title."""
    top = max((bar.value for bar in bars), default=0) or 1
    height = len(bars) * (BAR + GAP) + GAP
    parts = [SVG_OPEN.format(width=WIDTH, height=height, title=title)]
    room = WIDTH - LABEL - 80
    for index, bar in enumerate(bars):
        y = GAP + index * (BAR + GAP)
        length = max(room * bar.value / top, 1 if bar.value else 0)
        parts.append(
            SVG_BAR.format(
                label_x=LABEL - 8,
                text_y=y + BAR * 0.68,
                label=_short(bar.label),
                bar_x=LABEL,
                y=y,
                length=length,
                bar=BAR,
                colour=colour,
                value_x=LABEL + length + 6,
                value=bar.text,
            )
        )
    parts.append(SVG_CLOSE)
    return Markup("").join(parts)


def _short(label: str, limit: int = 30) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
