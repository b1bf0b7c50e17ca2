"""Recognising crisis phrases in what people write, in Khmer and English.

Normalisation removes what varies without changing meaning: case, spaces (Khmer has none
between words, and people insert them anyway), punctuation, zero-width characters, and the
Khmer spelling variants listed in ``crisis.yaml``."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

CRISIS_FILE = Path(__file__).parent / "crisis.yaml"
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
CATEGORIES = ("violence_now", "self_harm", "arrest_detention", "forced_marriage")


class CrisisError(ValueError):
    pass


def _strip(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(ZERO_WIDTH).lower()
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category[0] in ("L", "M", "N"):  # letters, combining marks (Khmer vowels), digits
            kept.append(char)
    return "".join(kept)


@dataclass(frozen=True)
class CrisisDetector:
    phrases: dict[str, tuple[str, ...]]  # category -> normalised phrases
    variants: tuple[tuple[str, str], ...]
    raw: dict[str, dict[str, tuple[str, ...]]]

    def normalise(self, text: str) -> str:
        stripped = _strip(text)
        for variant, canonical in self.variants:
            stripped = stripped.replace(variant, canonical)
        return stripped

    def match(self, text: str) -> str | None:
        """The first crisis category whose phrase occurs in ``text``, or None."""
        normalised = self.normalise(text)
        if not normalised:
            return None
        for category in CATEGORIES:
            if any(phrase in normalised for phrase in self.phrases.get(category, ())):
                return category
        return None

    @classmethod
    def load(cls, path: Path = CRISIS_FILE) -> CrisisDetector:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or not isinstance(document.get("categories"), dict):
            raise CrisisError(f"{path}: expected 'variants' and 'categories'")
        variants = []
        for pair in document.get("variants") or []:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise CrisisError(f"{path}: each variant is [typed, canonical]")
            variants.append((_strip(str(pair[0])), _strip(str(pair[1]))))
        detector = cls({}, tuple(variants), {})
        phrases: dict[str, tuple[str, ...]] = {}
        raw: dict[str, dict[str, tuple[str, ...]]] = {}
        for category, languages in document["categories"].items():
            if category not in CATEGORIES:
                raise CrisisError(f"{path}: unknown category {category!r}")
            raw[category] = {
                lang: tuple(str(p) for p in languages.get(lang) or ()) for lang in ("km", "en")
            }
            phrases[category] = tuple(
                detector.normalise(p) for lang in ("km", "en") for p in raw[category][lang]
            )
        return cls(phrases, tuple(variants), raw)

    def problems(self) -> list[str]:
        found = []
        for category in CATEGORIES:
            for language in ("km", "en"):
                if not self.raw.get(category, {}).get(language):
                    found.append(f"knowledge/crisis.yaml: {category} [{language}]: no phrases")
        return found
