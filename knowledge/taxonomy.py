"""The taxonomy: code lists for intake answers and statistics (labels are in the catalogues)."""

from __future__ import annotations

from pathlib import Path

from knowledge.yaml_loading import load_yaml

TAXONOMY_FILE = Path(__file__).parent / "taxonomy.yaml"


class TaxonomyError(ValueError):
    pass


def load_taxonomy(path: Path = TAXONOMY_FILE) -> dict[str, tuple[str, ...]]:
    document = load_yaml(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise TaxonomyError(f"{path}: expected lists of codes")
    lists: dict[str, tuple[str, ...]] = {}
    for name, codes in document.items():
        if name == "meta":
            continue
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise TaxonomyError(f"{path}: {name}: every code must be text (quote yes/no)")
        if len(set(codes)) != len(codes):
            raise TaxonomyError(f"{path}: {name}: duplicate codes")
        lists[str(name)] = tuple(codes)
    return lists
