"""Knowledge articles: Markdown with front matter, one file per language, split into short
screens by lines of ``---``. Rendering gives Telegram HTML with everything escaped except the
``**bold**`` the article asks for; the last screen carries the sources and the review date."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

ARTICLES_DIR = Path(__file__).parent / "articles"
TRANSLATION_STATES = ("reviewed", "awaiting native review")
MAX_SCREEN = 1000
_BOLD = re.compile(r"\*\*(.+?)\*\*")


class ArticleError(ValueError):
    pass


@dataclass(frozen=True)
class Source:
    title: str
    date: str


@dataclass(frozen=True)
class Article:
    id: str
    language: str
    title: str
    summary: str
    reviewed: date
    translation: str
    sources: tuple[Source, ...]
    pages: tuple[str, ...]
    file: str


def _front_matter(text: str, path: Path) -> tuple[dict[str, object], str]:
    if not text.startswith("---\n"):
        raise ArticleError(f"{path}: must start with front matter between '---' lines")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise ArticleError(f"{path}: front matter is not closed with '---'")
    meta = yaml.safe_load(text[4:end])
    if not isinstance(meta, dict):
        raise ArticleError(f"{path}: front matter must be a mapping")
    return meta, text[end + 5 :]


def parse_article(path: Path) -> Article:
    meta, body = _front_matter(path.read_text(encoding="utf-8"), path)
    missing = [
        k
        for k in ("id", "language", "title", "summary", "reviewed", "translation", "sources")
        if not meta.get(k)
    ]
    if missing:
        raise ArticleError(f"{path}: front matter misses {missing}")
    reviewed = meta["reviewed"]
    if not isinstance(reviewed, date):
        raise ArticleError(f"{path}: reviewed must be a date like 2026-11-21")
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
    pages = tuple(p.strip() for p in re.split(r"\n---\n", body) if p.strip())
    return Article(
        id=str(meta["id"]),
        language=str(meta["language"]),
        title=str(meta["title"]),
        summary=str(meta["summary"]),
        reviewed=reviewed,
        translation=str(meta["translation"]),
        sources=tuple(sources),
        pages=pages,
        file=str(path),
    )


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


def render_inline(text: str) -> str:
    """Escape everything, then turn ``**bold**`` into ``<b>bold</b>``."""
    escaped = html.escape(text, quote=False)
    return _BOLD.sub(r"<b>\1</b>", escaped)


def render_page(article: Article, page: int, footer: str) -> str:
    """One screen of an article as Telegram HTML; the title heads the first, the footer
    (sources and review date, already rendered) ends the last."""
    parts = []
    if page == 0:
        parts.append(f"<b>{html.escape(article.title, quote=False)}</b>")
    parts.append(render_inline(article.pages[page]))
    if page == len(article.pages) - 1:
        parts.append(footer)
    return "\n\n".join(parts)


def sources_text(article: Article) -> str:
    return "\n".join(
        f"• {html.escape(s.title, quote=False)} ({html.escape(s.date)})" for s in article.sources
    )
