"""UI string catalogues: one YAML file per language, keyed by stable ids.

The flow graph and the handlers hold no prose; they name a key and the catalogue gives the text
in the person's language. Parameters use ``{name}`` placeholders and must be the same set in
every language.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge.yaml_loading import load_yaml

LANGUAGES = ("km", "en")
DEFAULT_LANGUAGE = "km"
STRINGS_DIR = Path(__file__).parent / "strings"


class CatalogueError(ValueError):
    """A problem in a catalogue file, naming the file and the key."""


@dataclass(frozen=True)
class Problem:
    file: str
    key: str
    language: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key} [{self.language}]: {self.message}"


class _Blank(dict[str, object]):
    """Formatting parameters where a missing one renders as nothing instead of failing."""

    def __missing__(self, key: str) -> str:
        return ""


def _placeholders(text: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


@dataclass(frozen=True)
class TextCatalogue:
    texts: dict[str, dict[str, str]]
    meta: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, directory: Path = STRINGS_DIR) -> TextCatalogue:
        texts: dict[str, dict[str, str]] = {}
        meta: dict[str, dict[str, Any]] = {}
        for language in LANGUAGES:
            path = directory / f"{language}.yaml"
            try:
                document = load_yaml(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise CatalogueError(
                    f"{path}: missing catalogue for language {language}"
                ) from None
            except yaml.YAMLError as exc:
                raise CatalogueError(f"{path}: not valid YAML: {exc}") from None
            if not isinstance(document, dict) or not isinstance(document.get("strings"), dict):
                raise CatalogueError(f"{path}: expected a 'meta' table and a 'strings' table")
            entries = document["strings"]
            bad = [
                k for k, v in entries.items() if not isinstance(k, str) or not isinstance(v, str)
            ]
            if bad:
                raise CatalogueError(f"{path}: {bad[0]}: every string must be text")
            texts[language] = dict(entries)
            meta[language] = dict(document.get("meta") or {})
        return cls(texts, meta)

    def text(self, key: str, language: str, /, **params: object) -> str:
        table = self.texts.get(language) or self.texts[DEFAULT_LANGUAGE]
        template = table.get(key)
        if template is None:
            template = self.texts["en"][key]
        return template.format_map(_Blank(params)) if "{" in template else template

    def has(self, key: str) -> bool:
        return all(key in self.texts[language] for language in LANGUAGES)

    def problems(self, directory: Path = STRINGS_DIR) -> list[Problem]:
        """Every gap between the languages: missing keys and mismatched placeholders."""
        found: list[Problem] = []
        all_keys = set().union(*(set(t) for t in self.texts.values()))
        for key in sorted(all_keys):
            variants = {lang: self.texts[lang].get(key) for lang in LANGUAGES}
            for language, text in variants.items():
                file = str(directory / f"{language}.yaml")
                if text is None:
                    found.append(Problem(file, key, language, "missing translation"))
                elif not text.strip():
                    found.append(Problem(file, key, language, "empty text"))
            present = {lang: _placeholders(t) for lang, t in variants.items() if t}
            if len(set(present.values())) > 1:
                for language, names in present.items():
                    found.append(
                        Problem(
                            str(directory / f"{language}.yaml"),
                            key,
                            language,
                            f"placeholders {sorted(names)} differ between languages",
                        )
                    )
        for language in LANGUAGES:
            meta = self.meta.get(language, {})
            if "translation" not in meta:
                found.append(
                    Problem(
                        str(directory / f"{language}.yaml"),
                        "meta.translation",
                        language,
                        "missing: say 'reviewed' or 'awaiting native review'",
                    )
                )
        return found
