"""Crisis phrases and replies: the table in tests/test_crisis_table.yaml, read row by row, and
the replies the bot chooses between (a counsellor team configured, or not)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from knowledge.crisis import CATEGORIES, CrisisDetector, CrisisError, compile_pattern

TABLE = Path(__file__).parent / "test_crisis_table.yaml"
STRINGS = Path(__file__).parents[1] / "knowledge" / "strings"
ARTICLES = Path(__file__).parents[1] / "knowledge" / "articles"
MINIMUM_ROWS = 100


def _table() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def detector() -> CrisisDetector:
    return CrisisDetector.load()


MATCHES = [
    pytest.param(kind, text, id=f"{language}:{kind}:{text[:40]}")
    for language, rows in _table()["match"].items()
    for kind, text in rows
]
ORDINARY = [
    pytest.param(text, id=f"{language}:{text[:40]}")
    for language, rows in _table()["no_match"].items()
    for text in rows
]


@pytest.mark.parametrize(("kind", "text"), MATCHES)
def test_a_crisis_is_heard_with_its_kind(detector: CrisisDetector, kind: str, text: str) -> None:
    assert detector.match(text) == kind


@pytest.mark.parametrize("text", ORDINARY)
def test_an_ordinary_sentence_is_not_a_crisis(detector: CrisisDetector, text: str) -> None:
    assert detector.match(text) is None


def test_the_table_is_large_enough_in_each_language() -> None:
    table = _table()
    for language in ("en", "km"):
        assert len(table["match"][language]) >= MINIMUM_ROWS, language
        assert len(table["no_match"][language]) >= MINIMUM_ROWS, language
        kinds = {kind for kind, _ in table["match"][language]}
        assert kinds == set(CATEGORIES), f"every kind is tested in {language}"
        for kind, _ in table["match"][language]:
            assert kind in CATEGORIES


def test_the_issue_examples() -> None:
    """The sentences that got "Please choose one of the buttons below." in issue 13."""
    detector = CrisisDetector.load()
    assert detector.match("my brother says he will kill me") == "threat_to_life"
    assert detector.match("I don't want to live anymore") == "self_harm"
    assert detector.match("I am suicidal") == "self_harm"
    assert detector.match("I was raped last night") == "sexual_violence"
    assert detector.match("police are beating me") == "violence_now"
    assert detector.match("the police took my ID card last year") is None


def test_every_kind_has_phrases_in_both_languages(detector: CrisisDetector) -> None:
    assert detector.problems() == []


def test_the_khmer_phrases_await_native_review() -> None:
    document = yaml.safe_load(
        (Path(__file__).parents[1] / "knowledge" / "crisis.yaml").read_text(encoding="utf-8")
    )
    assert document["meta"]["translation"] == "awaiting native review"
    assert _table()["meta"]["translation"] == "awaiting native review"


@pytest.mark.parametrize(
    ("pattern", "words", "text", "found"),
    [
        ("kill me", True, " they will kill me ", True),
        ("kill me", True, " skill meter ", False),
        ("(a|b c) d", True, " b c d ", True),
        ("x [y] z", True, " x z ", True),
        ("x ... z", True, " x a b c d z ", True),
        ("x ... z", True, " x a b c d e z ", False),
        ("x ... z", True, " x | z ", False),
        ("@s me", True, " hit me ", True),
        ("សម្លាប់ ខ្ញុំ", False, "គេសម្លាប់ខ្ញុំ", True),
        ("ចង់ ... ស្លាប់", False, "ចង់|ស្លាប់", False),
    ],
)
def test_the_pattern_notation(pattern: str, words: bool, text: str, found: bool) -> None:
    compiled = compile_pattern(pattern, {"s": ("hit", "kick")}, words=words)
    assert bool(re.search(compiled, text)) is found


def test_an_unknown_set_is_an_error() -> None:
    with pytest.raises(CrisisError):
        compile_pattern("@nowhere me", {}, words=True)


def test_an_unknown_category_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "crisis.yaml"
    path.write_text("categories:\n  flood:\n    en: [water]\n", encoding="utf-8")
    with pytest.raises(CrisisError):
        CrisisDetector.load(path)


# ---------------------------------------------------------------------------- replies


def _strings(language: str) -> dict[str, str]:
    document = yaml.safe_load((STRINGS / f"{language}.yaml").read_text(encoding="utf-8"))
    strings: dict[str, str] = document["strings"]
    return strings


def _published_numbers() -> set[str]:
    """The numbers the knowledge base publishes: those in the emergency-numbers article."""
    found: set[str] = set()
    for language in ("en", "km"):
        text = (ARTICLES / language / "emergency-numbers.md").read_text(encoding="utf-8")
        found |= set(re.findall(r"\d{3,}", text))
    return found


REPLIES = [
    pytest.param(language, kind, id=f"{language}:{kind}")
    for language in ("en", "km")
    for kind in CATEGORIES
]


@pytest.mark.parametrize(("language", "kind"), REPLIES)
def test_each_kind_has_a_reply_with_and_without_a_counsellor_team(
    language: str, kind: str
) -> None:
    strings = _strings(language)
    staffed, alone = strings[f"crisis.{kind}"], strings[f"crisis.{kind}.no_staff"]
    urgent = {"en": "We have marked your case as urgent", "km": "យើងបានសម្គាល់ករណីរបស់អ្នកថាបន្ទាន់"}
    counsellor = {"en": "counsellor will see it first", "km": "អ្នកប្រឹក្សានឹងឃើញវាមុនគេ"}
    assert urgent[language] in staffed and counsellor[language] in staffed
    assert urgent[language] not in alone and counsellor[language] not in alone, (
        "no promise of a counsellor when none can be reached"
    )
    assert "117" in staffed and "117" in alone


@pytest.mark.parametrize(("language", "kind"), REPLIES)
def test_replies_name_only_published_numbers(language: str, kind: str) -> None:
    strings = _strings(language)
    published = _published_numbers()
    for key in (f"crisis.{kind}", f"crisis.{kind}.no_staff"):
        text = strings[key]
        assert "UNVERIFIED" not in text.upper()
        for number in re.findall(r"(?<![\d,.])\d{3,}(?![\d,.])", text):
            assert number in published, f"{key} [{language}] names {number}"
        for unverified in ("1281", "1288", "118", "666"):  # UNVERIFIED in the dossier
            assert unverified not in re.findall(r"\d+", text), f"{key}: {unverified}"


def test_the_self_harm_reply_is_not_only_a_childrens_line() -> None:
    for language in ("en", "km"):
        for key in ("crisis.self_harm", "crisis.self_harm.no_staff"):
            text = _strings(language)[key]
            assert "1280" in text and "117" in text
    english = _strings("en")["crisis.self_harm.no_staff"]
    assert "hospital" in english and "up to 25" in english


def test_an_arrest_gets_legal_aid_before_the_police_number() -> None:
    for key in ("crisis.arrest_detention", "crisis.arrest_detention.no_staff"):
        text = _strings("en")[key]
        assert "Legal Aid Department" in text and "Legal Aid of Cambodia" in text
        assert text.index("Legal Aid") < text.index("117")
        assert "48 hours" in text and "30 minutes" in text
    khmer = _strings("km")["crisis.arrest_detention.no_staff"]
    assert "ជំនួយផ្លូវច្បាប់" in khmer and khmer.index("ជំនួយផ្លូវច្បាប់") < khmer.index("117")


def test_the_sexual_violence_reply_gives_the_72_hour_pep_message() -> None:
    assert "72 hours" in _strings("en")["crisis.sexual_violence"]
    assert "PEP" in _strings("km")["crisis.sexual_violence.no_staff"]
