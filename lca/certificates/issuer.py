"""Who issues the certificate and what it says: seed/issuer.yaml, checked when read."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from lca.core.seed_files import SEED_DIR, SeedError, read_seed_file

ISSUER_FILE = "issuer.yaml"
TEXT_PAIRS = ("title", "short", "description", "criteria")


def _require(mapping: Any, keys: tuple[str, ...], where: str) -> dict:
    if not isinstance(mapping, dict):
        raise SeedError(f"{ISSUER_FILE} {where}: expected a mapping.")
    missing = [key for key in keys if not str(mapping.get(key) or "").strip()]
    if missing:
        raise SeedError(f"{ISSUER_FILE} {where}: {', '.join(missing)} required.")
    return {
        key: " ".join(str(value).split()) if isinstance(value, str) else value
        for key, value in mapping.items()
    }


def _image(value: Any, where: str, seed_dir: Path) -> str | None:
    if not value:
        return None
    path = (seed_dir / str(value)).resolve()
    if seed_dir.resolve() not in path.parents or not path.is_file():
        raise SeedError(f"{ISSUER_FILE} {where}: image {value!r} not found in seed/.")
    return str(path)


_cache: dict[tuple[str, int], dict] = {}


def load_issuer(seed_dir: Path = SEED_DIR) -> dict:
    """The course, issuer, organisations and signatories, as plain data (read again whenever
    the file changes)."""
    path = seed_dir / ISSUER_FILE
    key = (str(path), path.stat().st_mtime_ns if path.exists() else 0)
    if key not in _cache:
        _cache.clear()
        _cache[key] = _read_issuer(seed_dir)
    return copy.deepcopy(_cache[key])


def _read_issuer(seed_dir: Path) -> dict:
    data = read_seed_file(seed_dir / ISSUER_FILE)
    course = _require(
        data.get("course"),
        tuple(f"{k}_{lang}" for k in TEXT_PAIRS for lang in ("th", "en")),
        "course",
    )
    years = course.get("valid_years")
    if years is not None and (
        isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= 100
    ):
        raise SeedError(
            f"{ISSUER_FILE} course: valid_years must be a whole number of years from 1 to 100 "
            f"(how long a certificate's credential stays valid), or left out for no expiry; "
            f"it is {years!r}."
        )
    issuer = _require(data.get("issuer"), ("name_th", "name_en", "url"), "issuer")
    issuer["logo"] = _image(issuer.get("logo"), "issuer logo", seed_dir)
    organisations = [
        _require(o, ("name_th", "name_en"), f"organisations[{i}]")
        for i, o in enumerate(data.get("organisations") or [])
    ]
    signatories = []
    for index, signatory in enumerate(data.get("signatories") or []):
        where = f"signatories[{index}]"
        row = _require(signatory, ("name_th", "name_en", "title_th", "title_en"), where)
        row["signature"] = _image(row.get("signature"), f"{where} signature", seed_dir)
        signatories.append(row)
    if not organisations or not signatories:
        raise SeedError(f"{ISSUER_FILE}: at least one organisation and one signatory needed.")
    if len(signatories) > 3:
        raise SeedError(f"{ISSUER_FILE}: at most three signatories fit on the certificate.")
    return {
        "course": course,
        "issuer": issuer,
        "organisations": organisations,
        "signatories": signatories,
    }
