"""Reading the content's YAML files: safe loading, with libyaml's C parser when PyYAML has
it (the pure-Python one took most of the time a process spends loading its content)."""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """Like ``yaml.safe_load``: plain data only, never objects."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a safe loader, C or Python
