"""Content checks for ``clgbt validate``: every string and article in both languages, within
Telegram's limits, sourced, respectful, and never publishing what the sources mark UNVERIFIED."""

from __future__ import annotations

import re
from collections.abc import Mapping

from knowledge.articles import (
    MAX_SCREEN,
    TRANSLATION_STATES,
    ArticleLibrary,
    render_page,
    sources_text,
)
from knowledge.catalogue import LANGUAGES, Problem, TextCatalogue
from knowledge.partners import ALL_PROVINCES, Partner

# Words the project never uses about people (knowledge-sources.md, section 5).
BANNED_TERMS = ("ខ្ទើយ",)
_ALLOWED_TAGS = re.compile(r"</?(b|i|u|s|code)>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+);")


def html_problem(text: str) -> str | None:
    """Why ``text`` would be refused by Telegram's HTML parse mode, or None."""
    stripped = _ENTITY.sub("", _ALLOWED_TAGS.sub("", text))
    if "<" in stripped or ">" in stripped:
        return "contains < or > that is not an allowed tag (use &lt; and &gt;)"
    if "&" in stripped:
        return "contains a bare & (write &amp;)"
    opened = re.findall(r"<(b|i|u|s|code)>", text)
    closed = re.findall(r"</(b|i|u|s|code)>", text)
    if sorted(opened) != sorted(closed):
        return "has an unclosed tag"
    return None


def article_footer(
    catalogue: TextCatalogue, library: ArticleLibrary, article_id: str, language: str
) -> str:
    article = library.get(article_id, language)
    return catalogue.text(
        "article.footer",
        language,
        sources=sources_text(article),
        reviewed=article.reviewed.isoformat(),
    )


def content_problems(
    catalogue: TextCatalogue,
    library: ArticleLibrary,
    taxonomy: Mapping[str, tuple[str, ...]],
    partners: tuple[Partner, ...],
) -> list[Problem]:
    problems = list(catalogue.problems())
    for language in LANGUAGES:
        for key, text in catalogue.texts[language].items():
            file = f"knowledge/strings/{language}.yaml"
            issue = html_problem(text)
            if issue:
                problems.append(Problem(file, key, language, issue))
            for term in BANNED_TERMS:
                if term in text:
                    problems.append(Problem(file, key, language, f"uses the slur {term!r}"))
    for list_name, codes in taxonomy.items():
        for code in codes:
            key = f"taxonomy.{list_name}.{code}"
            for language in LANGUAGES:
                if key not in catalogue.texts[language]:
                    problems.append(
                        Problem(
                            f"knowledge/strings/{language}.yaml",
                            key,
                            language,
                            "missing label for a taxonomy code",
                        )
                    )
    ids = sorted(library.ids)
    for article_id in ids:
        versions = {lang: library.articles.get((article_id, lang)) for lang in LANGUAGES}
        for language, article in versions.items():
            if article is None:
                problems.append(
                    Problem(
                        f"knowledge/articles/{language}/{article_id}.md",
                        article_id,
                        language,
                        "missing translation",
                    )
                )
                continue
            if article.translation not in TRANSLATION_STATES:
                problems.append(
                    Problem(
                        article.file,
                        "translation",
                        language,
                        f"must be one of {TRANSLATION_STATES}",
                    )
                )
            whole = "\n".join((article.title, article.summary, *article.pages))
            if "UNVERIFIED" in whole.upper():
                problems.append(
                    Problem(
                        article.file, article_id, language, "publishes a claim marked UNVERIFIED"
                    )
                )
            for term in BANNED_TERMS:
                if term in whole:
                    problems.append(
                        Problem(article.file, article_id, language, f"uses the slur {term!r}")
                    )
            footer = article_footer(catalogue, library, article_id, language)
            for page in range(len(article.pages)):
                rendered = render_page(article, page, footer)
                if len(rendered) > MAX_SCREEN:
                    problems.append(
                        Problem(
                            article.file,
                            f"page {page + 1}",
                            language,
                            f"{len(rendered)} characters on one screen; keep "
                            f"each under {MAX_SCREEN}",
                        )
                    )
        present = [a for a in versions.values() if a is not None]
        if len({len(a.pages) for a in present}) > 1:
            problems.append(
                Problem(
                    present[0].file,
                    article_id,
                    "",
                    "the languages have different numbers of pages",
                )
            )
    provinces = set(taxonomy.get("provinces", ())) | {ALL_PROVINCES}
    for partner in partners:
        for service in partner.services:
            if service not in taxonomy.get("services", ()):
                problems.append(
                    Problem(
                        "knowledge/partners.yaml", partner.id, "", f"unknown service {service!r}"
                    )
                )
        for province in partner.provinces:
            if province not in provinces:
                problems.append(
                    Problem(
                        "knowledge/partners.yaml", partner.id, "", f"unknown province {province!r}"
                    )
                )
        for language in LANGUAGES:
            if not partner.names.get(language) or not partner.descriptions.get(language):
                problems.append(
                    Problem(
                        "knowledge/partners.yaml",
                        partner.id,
                        language,
                        "missing name or description",
                    )
                )
    return problems
