"""Knowledge articles: Markdown with front matter, one file per language, split into short
screens by lines of ``---``. Rendering gives Telegram HTML with everything escaped except the
``**bold**`` the article asks for; the last screen carries the sources, the review state and
"general information, not legal advice".

Review state is metadata, and the person sees it as it is:

- ``updated``: the day the text was last written from its sources; ``review_due``: the day by
  which it must be looked at again.
- ``checked``: only when an organisation has checked the content (``by`` names the
  organisation, never a person; ``date`` is the day). Without it nothing says "checked".
- ``translation``: ``original`` (the language it was written in), ``reviewed`` (a native
  speaker checked the translation, recorded in ``translation_review``: by, date) or
  ``awaiting native review`` (the person is told so, in that language, on the article).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from knowledge.marks import by_and_date
from knowledge.yaml_loading import load_yaml

ARTICLES_DIR = Path(__file__).parent / "articles"
ORIGINAL = "original"
REVIEWED = "reviewed"
AWAITING = "awaiting native review"
TRANSLATION_STATES = (ORIGINAL, REVIEWED, AWAITING)
MAX_SCREEN = 1000
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_KHMER_DIGITS = str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")
KHMER_MONTHS = (
    "មករា",
    "កុម្ភៈ",
    "មីនា",
    "មេសា",
    "ឧសភា",
    "មិថុនា",
    "កក្កដា",
    "សីហា",
    "កញ្ញា",
    "តុលា",
    "វិច្ឆិកា",
    "ធ្នូ",
)
ENGLISH_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class ArticleError(ValueError):
    pass


@dataclass(frozen=True)
class Source:
    title: str
    date: str


@dataclass(frozen=True)
class Review:
    """Who checked something (an organisation, never a person) and on which day."""

    by: str
    on: date


@dataclass(frozen=True)
class Article:
    id: str
    language: str
    title: str
    summary: str
    updated: date
    review_due: date
    translation: str
    sources: tuple[Source, ...]
    pages: tuple[str, ...]
    file: str
    checked: Review | None = None
    translation_review: Review | None = None
    keywords: tuple[str, ...] = ()

    @property
    def awaiting_native_review(self) -> bool:
        return self.translation == AWAITING


def khmer_digits(text: str) -> str:
    """Latin digits as Khmer digits (for counters and dates; never for phone numbers)."""
    return text.translate(_KHMER_DIGITS)


def format_date(day: date, language: str) -> str:
    """A day as people read it: "2 December 2026", or in Khmer with Khmer digits and the
    Khmer month name."""
    if language == "km":
        return khmer_digits(f"ថ្ងៃទី{day.day} ខែ{KHMER_MONTHS[day.month - 1]} ឆ្នាំ{day.year}")
    return f"{day.day} {ENGLISH_MONTHS[day.month - 1]} {day.year}"


def localise_number(value: str, language: str) -> str:
    return khmer_digits(value) if language == "km" else value


def _review(value: object, path: Path, key: str) -> Review | None:
    try:
        mark = by_and_date(value)
    except ValueError:
        raise ArticleError(
            f"{path}: {key} needs 'by' (the organisation, not a person) and 'date'"
        ) from None
    return None if mark is None else Review(*mark)


def _front_matter(text: str, path: Path) -> tuple[dict[str, object], str]:
    if not text.startswith("---\n"):
        raise ArticleError(f"{path}: must start with front matter between '---' lines")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise ArticleError(f"{path}: front matter is not closed with '---'")
    meta = load_yaml(text[4:end])
    if not isinstance(meta, dict):
        raise ArticleError(f"{path}: front matter must be a mapping")
    return meta, text[end + 5 :]


def parse_article(path: Path) -> Article:
    meta, body = _front_matter(path.read_text(encoding="utf-8"), path)
    missing = [
        k
        for k in (
            "id",
            "language",
            "title",
            "summary",
            "updated",
            "review_due",
            "translation",
            "sources",
        )
        if not meta.get(k)
    ]
    if missing:
        raise ArticleError(f"{path}: front matter misses {missing}")
    updated, review_due = meta["updated"], meta["review_due"]
    if not isinstance(updated, date) or not isinstance(review_due, date):
        raise ArticleError(f"{path}: updated and review_due must be dates like 2026-12-02")
    raw_sources = meta["sources"]
    if not isinstance(raw_sources, list) or not raw_sources:
        raise ArticleError(f"{path}: every article needs at least one dated source")
    sources = []
    for item in raw_sources:
        if not isinstance(item, dict) or not item.get("title") or not item.get("date"):
            raise ArticleError(
                f"{path}: every source needs a title and a date "
                "('date not shown' when the source has none)"
            )
        sources.append(Source(str(item["title"]), str(item["date"])))
    raw_keywords = meta.get("keywords") or []
    if not isinstance(raw_keywords, list):
        raise ArticleError(f"{path}: keywords must be a list")
    pages = tuple(p.strip() for p in re.split(r"\n---\n", body) if p.strip())
    return Article(
        id=str(meta["id"]),
        language=str(meta["language"]),
        title=str(meta["title"]),
        summary=str(meta["summary"]),
        updated=updated,
        review_due=review_due,
        translation=str(meta["translation"]),
        sources=tuple(sources),
        pages=pages,
        file=str(path),
        checked=_review(meta.get("checked"), path, "checked"),
        translation_review=_review(meta.get("translation_review"), path, "translation_review"),
        keywords=tuple(str(k) for k in raw_keywords),
    )


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold().strip()


def _matches(keyword: str, query: str) -> bool:
    """Whether a keyword occurs in what the person typed. Khmer is written without spaces
    between words, so Khmer keywords match anywhere; Latin ones match whole words."""
    if not keyword:
        return False
    if keyword.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(keyword)}(?![a-z0-9])", query) is not None
    return keyword in query


@dataclass(frozen=True)
class ArticleLibrary:
    articles: dict[tuple[str, str], Article]

    @classmethod
    def load(cls, directory: Path = ARTICLES_DIR) -> ArticleLibrary:
        articles: dict[tuple[str, str], Article] = {}
        for path in sorted(directory.glob("*/*.md")):
            article = parse_article(path)
            if article.language != path.parent.name:
                raise ArticleError(
                    f"{path}: language {article.language!r} does not match "
                    f"its folder {path.parent.name!r}"
                )
            if article.id != path.stem:
                raise ArticleError(f"{path}: id {article.id!r} does not match the file name")
            articles[(article.id, article.language)] = article
        return cls(articles)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(article_id for article_id, _ in self.articles)

    def get(self, article_id: str, language: str) -> Article:
        found = self.articles.get((article_id, language)) or self.articles.get((article_id, "en"))
        if found is None:
            raise KeyError(article_id)
        return found

    def page_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for (article_id, _), article in self.articles.items():
            counts[article_id] = max(counts.get(article_id, 0), len(article.pages))
        return counts

    def search(self, query: str, language: str, limit: int = 5) -> list[str]:
        """Article ids whose keywords or title match what the person typed, best first.

        The person's language counts first; the other language's keywords also match, since
        people often type English words (HIV, PEP, ID) in a Khmer chat."""
        typed = _normalise(query)
        if len(typed) < 2:
            return []
        scores: dict[str, int] = {}
        for (article_id, article_language), article in self.articles.items():
            weight = 2 if article_language == language else 1
            terms = {_normalise(k) for k in article.keywords}
            title = _normalise(article.title)
            # Longer keywords are more specific ("arrested" over "police").
            hits = sum(len(term) for term in terms if _matches(term, typed))
            if typed in title or any(term and typed in term for term in terms):
                hits += len(typed)
            if hits:
                scores[article_id] = scores.get(article_id, 0) + hits * weight
        ranked = sorted(scores, key=lambda a: (-scores[a], a))
        return ranked[:limit]

    def searcher(
        self, skip: Callable[[str], object] | None = None
    ) -> Callable[[str, str], list[str]]:
        """:meth:`search` for words typed at a menu, finding nothing where ``skip`` holds.

        The bot skips what the crisis detector hears: the person has just been given the
        emergency numbers, and an article matched by a word such as "die" or "kill" would be
        out of place (and sometimes the wrong topic) next to them."""

        def find(text: str, language: str) -> list[str]:
            if skip is not None and skip(text):
                return []
            return self.search(text, language)

        return find


def render_inline(text: str) -> str:
    """Escape everything, then turn ``**bold**`` into ``<b>bold</b>``."""
    escaped = html.escape(text, quote=False)
    return _BOLD.sub(r"<b>\1</b>", escaped)


def render_page(article: Article, page: int, footer: str, caveat: str = "") -> str:
    """One screen of an article as Telegram HTML; the title (and, for a translation awaiting
    native review, the caveat saying so) heads the first, the footer (sources, review state,
    "not legal advice", already rendered) ends the last."""
    parts = []
    if page == 0:
        parts.append(f"<b>{html.escape(article.title, quote=False)}</b>")
        if caveat:
            parts.append(caveat)
    parts.append(render_inline(article.pages[page]))
    if page == len(article.pages) - 1:
        parts.append(footer)
    return "\n\n".join(parts)


def sources_text(article: Article) -> str:
    return "\n".join(
        f"• {html.escape(s.title, quote=False)} ({html.escape(s.date)})" for s in article.sources
    )


Text = Callable[..., str]


def review_text(article: Article, text: Text) -> str:
    """The review state as the person reads it, from the metadata only: "checked" appears
    only where an organisation checked the text."""
    language = article.language
    lines = [
        text(
            "article.updated",
            language,
            updated=format_date(article.updated, language),
            due=format_date(article.review_due, language),
        )
    ]
    if article.checked is not None:
        lines.append(
            text(
                "article.checked",
                language,
                by=html.escape(article.checked.by, quote=False),
                date=format_date(article.checked.on, language),
            )
        )
    return "\n".join(lines)


def caveat_text(article: Article, text: Text) -> str:
    return (
        text("article.awaiting_review", article.language) if article.awaiting_native_review else ""
    )
