"""Content checks for ``clgbt validate``: every string and article in both languages, within
Telegram's limits, sourced and dated, with review marks that match the metadata, respectful,
never publishing what the sources mark UNVERIFIED; every partner channel sourced and dated, and
the partners' phone lines in agreement with the emergency list."""

from __future__ import annotations

import re
from collections.abc import Mapping

from knowledge.articles import (
    MAX_SCREEN,
    ORIGINAL,
    REVIEWED,
    TRANSLATION_STATES,
    Article,
    ArticleLibrary,
    caveat_text,
    render_page,
    review_text,
    sources_text,
)
from knowledge.catalogue import LANGUAGES, Problem, TextCatalogue
from knowledge.partners import ALL_PROVINCES, CONTACT_KINDS, Partner

# Words the project never uses about people (knowledge-sources.md, section 5).
BANNED_TERMS = ("ខ្ទើយ",)
EMERGENCY_ARTICLE = "emergency-numbers"
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
    """The last screen's footer: sources with their dates, the review state as recorded in the
    metadata, and "general information, not legal advice"."""
    article = library.get(article_id, language)
    return catalogue.text(
        "article.footer",
        article.language,
        sources=sources_text(article),
        review=review_text(article, catalogue.text),
    )


def article_screen(
    catalogue: TextCatalogue, library: ArticleLibrary, article_id: str, language: str, page: int
) -> str:
    """One screen of an article as the person sees it (in their language when it exists)."""
    article = library.get(article_id, language)
    footer = article_footer(catalogue, library, article_id, article.language)
    caveat = caveat_text(article, catalogue.text)
    return render_page(article, min(page, len(article.pages) - 1), footer, caveat)


def _article_problems(
    catalogue: TextCatalogue, library: ArticleLibrary, article_id: str
) -> list[Problem]:
    problems: list[Problem] = []
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

        def problem(key: str, message: str, a: Article = article) -> None:
            problems.append(Problem(a.file, key, a.language, message))

        if article.translation not in TRANSLATION_STATES:
            problem("translation", f"must be one of {TRANSLATION_STATES}")
        if article.translation == REVIEWED and article.translation_review is None:
            problem(
                "translation_review",
                "'reviewed' needs translation_review: {by: ORGANISATION, date: DATE}",
            )
        if article.translation != REVIEWED and article.translation_review is not None:
            problem(
                "translation_review", f"recorded, but translation says {article.translation!r}"
            )
        if article.review_due <= article.updated:
            problem("review_due", "must be after 'updated'")
        if article.checked is not None and article.checked.on < article.updated:
            problem(
                "checked",
                "the text was updated after it was checked: check it again or remove 'checked'",
            )
        if not article.keywords:
            problem("keywords", "list the words a person might type to find this article")
        whole = "\n".join(
            (
                article.title,
                article.summary,
                *article.pages,
                *(f"{s.title} {s.date}" for s in article.sources),
            )
        )
        if "UNVERIFIED" in whole.upper():
            problem(article_id, "publishes a claim marked UNVERIFIED")
        for term in BANNED_TERMS:
            if term in whole:
                problem(article_id, f"uses the slur {term!r}")
        for page in range(len(article.pages)):
            rendered = article_screen(catalogue, library, article_id, language, page)
            if len(rendered) > MAX_SCREEN:
                problem(
                    f"page {page + 1}",
                    f"{len(rendered)} characters on one screen; keep each under {MAX_SCREEN}",
                )
            issue = html_problem(rendered)
            if issue:
                problem(f"page {page + 1}", issue)
    present = [a for a in versions.values() if a is not None]
    if len({len(a.pages) for a in present}) > 1:
        problems.append(
            Problem(
                present[0].file, article_id, "", "the languages have different numbers of pages"
            )
        )
    if len({a.sources for a in present}) > 1:
        problems.append(
            Problem(
                present[0].file,
                "sources",
                "",
                "the languages list different sources or source dates; give the same in both",
            )
        )
    if present and sum(1 for a in present if a.translation == ORIGINAL) != 1:
        problems.append(
            Problem(
                present[0].file,
                "translation",
                "",
                "exactly one language must be the 'original'; the others are translations",
            )
        )
    return problems


def _partner_problems(
    partners: tuple[Partner, ...],
    taxonomy: Mapping[str, tuple[str, ...]],
    library: ArticleLibrary,
) -> list[Problem]:
    problems: list[Problem] = []
    file = "knowledge/partners.yaml"
    provinces = set(taxonomy.get("provinces", ())) | {ALL_PROVINCES}
    emergency = " ".join(
        "\n".join(a.pages) for (aid, _), a in library.articles.items() if aid == EMERGENCY_ARTICLE
    )
    for partner in partners:
        for service in partner.services:
            if service not in taxonomy.get("services", ()):
                problems.append(Problem(file, partner.id, "", f"unknown service {service!r}"))
        for province in partner.provinces:
            if province not in provinces:
                problems.append(Problem(file, partner.id, "", f"unknown province {province!r}"))
        for language in LANGUAGES:
            if not partner.names.get(language) or not partner.descriptions.get(language):
                problems.append(Problem(file, partner.id, language, "missing name or description"))
        texts = [*partner.names.values(), *partner.descriptions.values()]
        for contact in partner.contacts:
            key = f"{partner.id}.{contact.kind}"
            texts += [contact.value, contact.value_km, contact.source, contact.source_date]
            if contact.kind not in CONTACT_KINDS:
                problems.append(Problem(file, key, "", f"kind must be one of {CONTACT_KINDS}"))
            if not contact.sourced:
                problems.append(
                    Problem(
                        file,
                        key,
                        "",
                        "every channel needs a source and the source's date "
                        "('date not shown' when it has none)",
                    )
                )
            if contact.kind == "office" and not contact.value_km:
                problems.append(Problem(file, key, "km", "an office needs value_km"))
            if contact.kind == "phone" and contact.value not in emergency:
                problems.append(
                    Problem(
                        file,
                        key,
                        "",
                        f"phone {contact.value} is not in the {EMERGENCY_ARTICLE} article: "
                        "the emergency list and the partners must agree",
                    )
                )
        if any("UNVERIFIED" in t.upper() for t in texts):
            problems.append(Problem(file, partner.id, "", "publishes something marked UNVERIFIED"))
    return problems


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
    for article_id in sorted(library.ids):
        problems += _article_problems(catalogue, library, article_id)
    problems += _partner_problems(partners, taxonomy, library)
    return problems
