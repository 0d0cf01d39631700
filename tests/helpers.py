"""Small helpers for reading pages in tests."""

from __future__ import annotations

import html
import re


def field_error(page: str, field_id: str) -> str:
    """The error message shown next to the field ``field_id`` ("" when there is none)."""
    match = re.search(
        rf'<p class="error-message" id="{re.escape(field_id)}-error">(.*?)</p>', page, re.S
    )
    return html.unescape(match.group(1)).strip() if match else ""


def flashes(page: str) -> list[str]:
    return [
        html.unescape(m) for m in re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', page, re.S)
    ]
