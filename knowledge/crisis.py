"""Recognising crisis phrases in what people write, in Khmer, English and romanised Khmer.

``crisis.yaml`` holds, for each kind of crisis, patterns in a small notation (whole words for
English; letters in sequence, spaces ignored, for Khmer and romanised Khmer):

- ``(a|b c|d)`` one of the alternatives; ``[x]`` optional; ``...`` a short gap (up to four
  English words, or a few Khmer words);
- ``@name`` one of the words listed under ``sets`` (``@family`` -> brother, father, ...).

Each kind may also list ``not`` patterns: a match is dropped when one of them occurs in the
same clause (``the film about suicide``, ``my friend was arrested last year``). Clauses end at
punctuation and at "and", "but", "so", "because" (Khmer: ប៉ុន្តែ, ព្រោះ).

Before matching, text is normalised: lower case, Unicode NFC, zero-width characters removed,
English contractions expanded (``don't`` -> ``do not``, ``gonna`` -> ``going to``), common
misspellings corrected (``spelling`` in the file), and the Khmer spelling variants replaced
(``variants``). A false positive costs one extra message; a false negative can cost far more,
but the replies must stay credible, so patterns are specific and every one is tested both ways
(``tests/test_crisis_table.yaml``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.yaml_loading import load_yaml

CRISIS_FILE = Path(__file__).parent / "crisis.yaml"
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# In order of precedence: the first kind that matches is the one answered.
CATEGORIES = (
    "violence_now",
    "sexual_violence",
    "threat_to_life",
    "self_harm",
    "arrest_detention",
    "forced_marriage",
)
LANGUAGES = ("en", "km", "romanised")
WORD_GAP = 4
LETTER_GAP = 25
BOUNDARY = "|"
_SENTENCE_END = re.compile(r"[.!?;:,\n\r។៕៖]+")
_CLAUSE_WORDS = re.compile(r" (?:and|but|so|because|though|although) ")
_KHMER_CLAUSE_WORDS = re.compile(r"ប៉ុន្តែ|ព្រោះ")
_KHMER = re.compile(r"[\u1780-\u17ff]")
_CONTRACTIONS = (
    (r"\b(can)'?t\b", "can not"),
    (r"\bcannot\b", "can not"),
    (r"\bwon'?t\b", "will not"),
    (r"\b(do|does|did|is|are|was|were|have|has|had|would|could|should)n'?t\b", r"\1 not"),
    (r"\bi'?m\b", "i am"),
    (r"\b(he|she|it|that|there|who)'s\b", r"\1 is"),
    (r"\b(you|we|they)'re\b", r"\1 are"),
    (r"\b(i|you|we|they)'ve\b", r"\1 have"),
    (r"\b(i|you|he|she|we|they|it)'ll\b", r"\1 will"),
    (r"\b(i|you|he|she|we|they)'d\b", r"\1 would"),
    (r"\bgonna\b", "going to"),
    (r"\bwanna\b", "want to"),
    (r"\bgotta\b", "got to"),
    (r"\btryna\b", "trying to"),
)


class CrisisError(ValueError):
    pass


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text).translate(ZERO_WIDTH).lower()


def _english(text: str, spelling: dict[str, str]) -> str:
    """Words separated by single spaces, clause boundaries as ``|``, with a space around the
    whole so that every word is `` word ``."""
    text = _clean(text).replace("\u2019", "'").replace("`", "'")
    for pattern, replacement in _CONTRACTIONS:
        text = re.sub(pattern, replacement, text)
    text = _SENTENCE_END.sub(f" {BOUNDARY} ", text)
    kept = [
        char if unicodedata.category(char)[0] in "LMN" or char == BOUNDARY else " "
        for char in text
    ]
    words = [spelling.get(word, word) for word in "".join(kept).split()]
    return f" {' '.join(words)} "


def _compact(text: str, variants: tuple[tuple[str, str], ...]) -> str:
    """Letters, combining marks and digits only (Khmer has no spaces between words, and people
    insert them anyway), clause boundaries as ``|``, Khmer spelling variants made canonical."""
    text = _SENTENCE_END.sub(BOUNDARY, _clean(text))
    kept = "".join(
        char for char in text if unicodedata.category(char)[0] in "LMN" or char == BOUNDARY
    )
    for variant, canonical in variants:
        kept = kept.replace(variant, canonical)
    return kept


# The notation's own signs, as regular-expression pieces ("gap" stands for ``...``).
_SYNTAX = {"...": "gap", "(": "(?:", ")": ")", "[": "(?:", "]": ")?", "|": "|"}
_TOKEN = re.compile(r"\.\.\.|@[a-z_]+|[()\[\]|]|[^\s()\[\]|@]+|\s+")


def compile_pattern(pattern: str, sets: dict[str, tuple[str, ...]], *, words: bool) -> str:
    """The notation above as a regular expression over normalised text. In word mode every
    word is followed by one space and a match starts after a space, so it is whole words."""
    gap = (
        rf"(?:[^\s{BOUNDARY}]+ ){{0,{WORD_GAP}}}" if words else rf"[^{BOUNDARY}]{{0,{LETTER_GAP}}}"
    )
    out: list[str] = []
    for token in _TOKEN.findall(pattern.strip().lower()):
        if token.isspace():
            continue
        if token.startswith("@"):
            name = token[1:]
            if name not in sets:
                raise CrisisError(f"unknown set @{name} in {pattern!r}")
            choices = sorted(sets[name], key=len, reverse=True)
            out.append("(?:" + "|".join(_literal(c, words=words) for c in choices) + ")")
        elif token in _SYNTAX:
            out.append(gap if _SYNTAX[token] == "gap" else _SYNTAX[token])
        else:
            out.append(_literal(token, words=words))
    body = "".join(out)
    try:
        re.compile(body)
    except re.error as exc:
        raise CrisisError(f"pattern {pattern!r}: {exc}") from exc
    return f"(?<= ){body}" if words else body


def _literal(text: str, *, words: bool) -> str:
    if words:
        return "".join(re.escape(word) + " " for word in text.split())
    return re.escape("".join(text.split()))


@dataclass(frozen=True)
class _Kind:
    english: re.Pattern[str] | None
    compact: re.Pattern[str] | None
    english_not: re.Pattern[str] | None
    compact_not: re.Pattern[str] | None


def _union(patterns: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


def _clause(text: str, start: int, end: int, *, words: bool) -> str:
    """The clause of ``text`` around ``[start, end)``."""
    cuts = [m.span() for m in re.finditer(re.escape(BOUNDARY), text)]
    cuts += [m.span() for m in (_CLAUSE_WORDS if words else _KHMER_CLAUSE_WORDS).finditer(text)]
    before = max((e for s, e in cuts if e <= start), default=0)
    after = min((s for s, e in cuts if s >= end), default=len(text))
    clause = text[before:after]
    return f" {clause.strip()} " if words else clause


@dataclass(frozen=True)
class CrisisDetector:
    kinds: dict[str, _Kind]
    variants: tuple[tuple[str, str], ...]
    spelling: dict[str, str]
    raw: dict[str, dict[str, tuple[str, ...]]]

    def normalise(self, text: str) -> str:
        """The compact form (Khmer and romanised Khmer are matched against it)."""
        return _compact(text, self.variants)

    def match(self, text: str) -> str | None:
        """The first crisis kind (in :data:`CATEGORIES` order) heard in ``text``, or None."""
        english = _english(text, self.spelling)
        compact = self.normalise(text)
        if not compact.strip(BOUNDARY):
            return None
        for category in CATEGORIES:
            kind = self.kinds.get(category)
            if kind is None:
                continue
            if _heard(kind.english, kind.english_not, english, words=True) or _heard(
                kind.compact, kind.compact_not, compact, words=False
            ):
                return category
        return None

    @classmethod
    def load(cls, path: Path = CRISIS_FILE) -> CrisisDetector:
        document = load_yaml(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or not isinstance(document.get("categories"), dict):
            raise CrisisError(f"{path}: expected 'sets', 'variants', 'spelling' and 'categories'")
        variants = []
        for pair in document.get("variants") or []:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise CrisisError(f"{path}: each variant is [typed, canonical]")
            variants.append((_compact(str(pair[0]), ()), _compact(str(pair[1]), ())))
        spelling = {
            str(k).lower(): str(v).lower() for k, v in (document.get("spelling") or {}).items()
        }
        sets = {
            str(name): tuple(str(w).lower() for w in words)
            for name, words in (document.get("sets") or {}).items()
        }
        kinds: dict[str, _Kind] = {}
        raw: dict[str, dict[str, tuple[str, ...]]] = {}
        for category, languages in document["categories"].items():
            if category not in CATEGORIES:
                raise CrisisError(f"{path}: unknown category {category!r}")
            if not isinstance(languages, dict):
                raise CrisisError(f"{path}: {category} must map languages to patterns")
            raw[category] = {lang: _strings(languages.get(lang)) for lang in LANGUAGES}
            exclusions: dict[str, Any] = languages.get("not") or {}
            english = [compile_pattern(p, sets, words=True) for p in raw[category]["en"]]
            compact = [
                compile_pattern(p, sets, words=False)
                for lang in ("km", "romanised")
                for p in raw[category][lang]
            ]
            english_not = [
                compile_pattern(p, sets, words=True) for p in _strings(exclusions.get("en"))
            ]
            compact_not = [
                compile_pattern(p, sets, words=False)
                for lang in ("km", "romanised")
                for p in _strings(exclusions.get(lang))
            ]
            kinds[category] = _Kind(
                _union(english), _union(compact), _union(english_not), _union(compact_not)
            )
        return cls(kinds, tuple(variants), spelling, raw)

    def problems(self) -> list[str]:
        found = []
        for category in CATEGORIES:
            for language in ("km", "en"):
                if not self.raw.get(category, {}).get(language):
                    found.append(f"knowledge/crisis.yaml: {category} [{language}]: no phrases")
        return found


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value or ())


def _heard(
    pattern: re.Pattern[str] | None,
    exclusions: re.Pattern[str] | None,
    text: str,
    *,
    words: bool,
) -> bool:
    if pattern is None:
        return False
    for found in pattern.finditer(text):
        clause = _clause(text, found.start(), found.end(), words=words)
        if exclusions is None or not exclusions.search(clause):
            return True
    return False
