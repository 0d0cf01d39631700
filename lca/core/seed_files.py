"""Reading the programme's data files in seed/ (YAML), with errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lca.core.config import ROOT

SEED_DIR = ROOT / "seed"


class SeedError(ValueError):
    """seed/ holds something that cannot be loaded; the message names the file and the entry."""


def read_seed_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise SeedError(f"{path}: the file is missing.") from error
    except yaml.YAMLError as error:
        raise SeedError(f"{path}: not valid YAML ({error}).") from error
    if not isinstance(data, dict):
        raise SeedError(f"{path}: expected a mapping of lists at the top.")
    return data
