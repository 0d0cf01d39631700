"""Small bar charts drawn as SVG on the server: readable, printable, no script; each chart
comes with its numbers as a table too. A long label wraps onto more lines at word boundaries
(Thai has no spaces between words: PyThaiNLP finds them), never cut in the middle of a word."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from markupsafe import Markup, escape

WIDTH, BAR, GAP, LABEL = 640, 26, 10, 250
LINE = 17  #: the height of a line of a label, at 14 px
LINE_CELLS = (
    28  #: the characters (that take room: not vowels and tone marks above or below) of a line
)


@dataclass
class Bar:
    label: str
    value: float
    text: str  #: the value as shown


def bar_chart(title: str, bars: list[Bar], colour: str = "#0b5d4b") -> Markup:
    """Horizontal bars, one per label, labelled with their values; role=img with the title.

    Written with f-strings, every text escaped on its way in (``Markup.format`` took most of a
    report's drawing time); the numbers are the code's own."""
    top = max((bar.value for bar in bars), default=0) or 1
    labels = [label_lines(bar.label) for bar in bars]
    rows = [max(BAR, len(lines) * LINE) for lines in labels]
    height = sum(row + GAP for row in rows) + GAP
    name, colour = escape(title), escape(colour)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-label="{name}" xmlns="http://www.w3.org/2000/svg"><title>{name}</title>'
    ]
    room = WIDTH - LABEL - 80
    top_y = GAP
    for bar, lines, row in zip(bars, labels, rows, strict=True):
        y = top_y + (row - BAR) / 2
        middle = top_y + row / 2
        length = max(room * bar.value / top, 1 if bar.value else 0)
        first = middle - (len(lines) - 1) * LINE / 2 + 5  # 5: half a letter's height
        parts.append('<text text-anchor="end" font-size="14" fill="#1f2328">')
        parts.extend(
            f'<tspan x="{LABEL - 8}" y="{first + index * LINE:.1f}">{escape(text)}</tspan>'
            for index, text in enumerate(lines)
        )
        parts.append(
            f'</text><rect x="{LABEL}" y="{y}" width="{length:.1f}" height="{BAR}" '
            f'fill="{colour}"/><text x="{LABEL + length + 6:.1f}" y="{middle + 5:.1f}" '
            f'font-size="14" fill="#1f2328">{escape(bar.text)}</text>'
        )
        top_y += row + GAP
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - texts escaped  # nosec B704


def _cells(text: str) -> int:
    """How many characters of ``text`` take room on the line (Thai vowels and tone marks
    written above or below a consonant take none)."""
    return sum(1 for char in text if unicodedata.category(char) != "Mn")


@lru_cache(maxsize=512)
def label_lines(label: str, cells: int = LINE_CELLS) -> tuple[str, ...]:
    """``label`` as lines of at most ``cells`` characters, broken only between words; a
    single word longer than a line stays whole on its own line."""
    from lca.core.thai_words import split_words  # PyThaiNLP: loaded by the first chart

    lines: list[str] = []
    current = ""
    for word in split_words(label):
        if current.strip() and _cells(current.rstrip() + word) > cells:
            lines.append(current.strip())
            current = word.lstrip()
        else:
            current += word
    if current.strip() or not lines:
        lines.append(current.strip())
    return tuple(lines)
