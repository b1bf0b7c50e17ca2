"""Content people can act on: sourced and dated articles in both languages, honest review
marks, partners people can reach, keyword search, Khmer digits, province names in statistics."""

from __future__ import annotations

import csv
import dataclasses
import io
import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.content import Content, load_content
from bot.partner_list import PartnerList
from bot.rendering import Renderer
from bot.statistics_labels import add_province_names, with_province_names
from flows.events import Button
from knowledge.articles import ARTICLES_DIR, ArticleLibrary, Review, format_date
from knowledge.catalogue import LANGUAGES
from knowledge.partners import PARTNERS_FILE, Confirmation, Partner, confirm_contact, load_partners
from knowledge.validation import article_screen, content_problems
from storage.statistics import render_csv, render_text, suppress

NEW_TOPICS = {
    "police-custody",
    "trans-id-documents",
    "partners-without-marriage",
    "renting-eviction",
    "sexual-assault-pep",
    "cybercrime-reporting",
    "school-bullying",
    "family-rejection",
    "mental-health",
}


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content()


def source_dates(content: Content, article_id: str) -> dict[str, str]:
    return {s.title: s.date for s in content.articles.get(article_id, "en").sources}


def problems_with(content: Content, **replaced: object) -> list[str]:
    texts = replaced.pop("texts", content.texts)
    library = replaced.pop("library", content.articles)
    partners = replaced.pop("partners", content.partners)
    return [
        str(p)
        for p in content_problems(texts, library, content.taxonomy, partners)  # type: ignore[arg-type]
    ]


def test_shipped_content_has_no_problem(content: Content) -> None:
    assert problems_with(content) == []


def test_every_topic_exists_in_both_languages_with_dated_sources(content: Content) -> None:
    assert content.articles.ids >= NEW_TOPICS
    assert len(content.articles.ids) >= 20
    for article_id in content.articles.ids:
        for language in LANGUAGES:
            article = content.articles.articles[(article_id, language)]
            assert article.sources, article.file
            assert all(s.title and s.date for s in article.sources), article.file
            assert article.keywords, article.file
            assert article.review_due > article.updated
        english = content.articles.articles[(article_id, "en")]
        khmer = content.articles.articles[(article_id, "km")]
        assert english.sources == khmer.sources, "the same sources and dates in both"
        assert khmer.translation == "awaiting native review", khmer.file


def test_every_topic_is_two_taps_from_the_main_menu(content: Content) -> None:
    reachable = set()
    for flow_id in ("rights", "safety"):
        flow = content.flows.flows[flow_id]
        menu = flow.nodes[flow.start]
        targets = {choice.next for choice in menu.choices}
        reachable |= {
            node.article for node in flow.nodes.values() if node.article and node.id in targets
        }
    assert reachable == set(content.articles.ids)


def test_guessed_dates_are_replaced_by_the_dossier_wording(content: Content) -> None:
    police = source_dates(content, "police")
    bar = next(d for t, d in police.items() if "BAKC" in t)
    assert bar == "date not shown; c. early 2024"
    gender = source_dates(content, "gender-identity")
    assert gender[next(t for t in gender if "Micro Rainbow" in t)] == "date not shown, c. 2024"
    assert gender[next(t for t in gender if t.startswith("RFSU"))] == "date not shown"
    assert gender[next(t for t in gender if t.startswith("IPPF"))] == "date not shown, c. 2024"
    online = source_dates(content, "online-harassment")
    assert online[next(t for t in online if "SEAPA" in t)] == "date not shown, c. 2010–11"
    documenting = source_dates(content, "documenting")
    assert list(documenting.values()) == ["date not shown"]
    for article_id in content.articles.ids:
        for title, when in source_dates(content, article_id).items():
            if "mid-term" in title:
                assert when == "March–April 2022"
            if title.startswith("Constitution"):
                assert when == "1993, as amended"


@pytest.mark.parametrize("article_id", ["marriage-family", "discrimination", "un-commitments"])
def test_the_2019_upr_acceptances_cite_a_upr_source(content: Content, article_id: str) -> None:
    article = content.articles.get(article_id, "en")
    assert "2019" in "\n".join(article.pages)
    assert any("UPR" in s.title for s in article.sources)


def test_the_family_relationship_declaration_uses_the_2021_figure(content: Content) -> None:
    english = "\n".join(content.articles.get("marriage-family", "en").pages)
    khmer = "\n".join(content.articles.get("marriage-family", "km").pages)
    assert "June 2021" in english and "68 communes in 20 provinces" in english
    assert "50 communes" not in english
    assert "៦៨ ឃុំ" in khmer and "៥០ ឃុំ" not in khmer


def test_a_khmer_article_says_it_awaits_native_review_in_khmer(content: Content) -> None:
    khmer = article_screen(content.texts, content.articles, "police-custody", "km", 0)
    assert "កំពុងរង់ចាំការពិនិត្យដោយអ្នកនិយាយភាសាខ្មែរ" in khmer
    english = article_screen(content.texts, content.articles, "police-custody", "en", 0)
    assert "awaiting review" not in english


def test_nothing_says_checked_unless_an_organisation_checked_it(content: Content) -> None:
    for article_id in content.articles.ids:
        last = len(content.articles.get(article_id, "en").pages) - 1
        english = article_screen(content.texts, content.articles, article_id, "en", last)
        review = english.rsplit("<i>Written", 1)[-1]
        assert "hecked" not in review
        assert "General information, not legal advice." in english
        assert "next review by" in english
        khmer = article_screen(content.texts, content.articles, article_id, "km", last)
        assert "បានពិនិត្យដោយ" not in khmer
        assert "មិនមែនជាដំបូន្មានផ្លូវច្បាប់ទេ" in khmer


def test_a_checked_article_names_the_organisation_and_the_day(content: Content) -> None:
    article = content.articles.articles[("police-custody", "km")]
    checked = dataclasses.replace(
        article, checked=Review("Rainbow Community Kampuchea", date(2026, 12, 20))
    )
    library = ArticleLibrary({**content.articles.articles, ("police-custody", "km"): checked})
    last = article_screen(content.texts, library, "police-custody", "km", len(article.pages) - 1)
    assert "បានពិនិត្យដោយ Rainbow Community Kampuchea ថ្ងៃទី២០ ខែធ្នូ ឆ្នាំ២០២៦" in last


def test_validate_rejects_marks_that_do_not_match_the_metadata(content: Content) -> None:
    article = content.articles.articles[("adoption", "km")]
    cases = {
        "needs translation_review": dataclasses.replace(article, translation="reviewed"),
        "updated after it was checked": dataclasses.replace(
            article, checked=Review("RoCK", date(2026, 1, 1))
        ),
        "marked UNVERIFIED": dataclasses.replace(
            article,
            sources=(
                *article.sources[:-1],
                dataclasses.replace(article.sources[-1], date="UNVERIFIED"),
            ),
        ),
        "different sources": dataclasses.replace(article, sources=article.sources[:1]),
    }
    for expected, broken in cases.items():
        library = ArticleLibrary({**content.articles.articles, ("adoption", "km"): broken})
        found = problems_with(content, library=library)
        assert found, expected
    missing = {k: v for k, v in content.articles.articles.items() if k != ("adoption", "km")}
    found = problems_with(content, library=ArticleLibrary(missing))
    assert any("missing translation" in p for p in found)


def test_validate_rejects_a_partner_channel_without_source_or_date(content: Content) -> None:
    rock = next(p for p in content.partners if p.id == "rock")
    unsourced = dataclasses.replace(
        rock, contacts=(dataclasses.replace(rock.contacts[0], source_date=""),)
    )
    partners = tuple(unsourced if p.id == "rock" else p for p in content.partners)
    assert any("source" in p for p in problems_with(content, partners=partners))


def test_the_emergency_list_and_the_partners_agree(content: Content) -> None:
    helpline = next(p for p in content.partners if p.id == "child_helpline")
    assert "1280" in [c.value for c in helpline.published_contacts]
    emergency = "\n".join(content.articles.get("emergency-numbers", "km").pages)
    assert "1280" in emergency and "117" in emergency
    other = dataclasses.replace(
        helpline, contacts=(dataclasses.replace(helpline.contacts[0], value="1999"),)
    )
    partners = tuple(other if p.id == "child_helpline" else p for p in content.partners)
    assert any("emergency" in p for p in problems_with(content, partners=partners))


def test_no_unverified_channel_is_published() -> None:
    partners = {p.id: p for p in load_partners()}
    assert partners["adhoc"].published_contacts == (), "conflicting domains: UNVERIFIED"
    assert partners["bakc_lad"].published_contacts[0].kind == "office", "1281 is UNVERIFIED"
    rock = " ".join(c.value for c in partners["rock"].contacts)
    assert "23 987 263" not in rock and "012" not in rock


def renderer(content: Content) -> Renderer:
    return Renderer(content)


def test_a_partner_with_a_confirmed_channel_shows_it(content: Content) -> None:
    rock = next(p for p in content.partners if p.id == "rock")
    confirmed = dataclasses.replace(
        rock,
        contacts=(
            dataclasses.replace(
                rock.contacts[0], confirmed=Confirmation("CLGBT coordinators", date(2026, 12, 3))
            ),
        ),
    )
    english = renderer(content).partner_text(PartnerList((confirmed,)), "en")
    assert "rockcambodia.org" in english
    assert "confirmed with the organisation on 3 December 2026" in english
    khmer = renderer(content).partner_text(PartnerList((confirmed,)), "km")
    assert "rockcambodia.org" in khmer and "ថ្ងៃទី៣ ខែធ្នូ ឆ្នាំ២០២៦" in khmer


def test_an_unconfirmed_channel_shows_its_source_and_a_partner_without_one_says_how(
    content: Content,
) -> None:
    chosen: tuple[Partner, ...] = tuple(
        p for p in content.partners if p.id in ("licadho", "adhoc", "child_helpline")
    )
    text = renderer(content).partner_text(PartnerList(chosen), "en")
    assert "licadho-cambodia.org" in text and "not yet confirmed" in text
    assert "1280" in text
    adhoc = text.split("<b>ADHOC</b>")[1].split("\n\n")[0]
    assert "A counsellor can put you in touch" in adhoc


def test_a_coordinator_confirms_a_channel_without_editing_yaml(tmp_path: Path) -> None:
    copy = tmp_path / "partners.yaml"
    shutil.copy(PARTNERS_FILE, copy)
    before = copy.read_text(encoding="utf-8")
    contact = confirm_contact("lac", "website", "CLGBT coordinators", date(2026, 12, 4), copy)
    assert contact.confirmed == Confirmation("CLGBT coordinators", date(2026, 12, 4))
    after = copy.read_text(encoding="utf-8")
    assert after.count("\n") == before.count("\n"), "only one line changes"
    assert "# Partner organisations" in after, "comments stay"
    others = {p.id: p for p in load_partners(copy)}
    assert others["rock"].contacts[0].confirmed is None


@pytest.mark.parametrize(
    ("typed", "language", "expected"),
    [
        ("I was arrested last night", "en", "police-custody"),
        ("ខ្ញុំត្រូវនគរបាលចាប់ខ្លួន", "km", "police-custody"),
        ("how do I change my name on my ID card", "en", "trans-id-documents"),
        ("ម្ចាស់ផ្ទះចង់បណ្តេញខ្ញុំ", "km", "renting-eviction"),
        ("I was raped", "en", "sexual-assault-pep"),
        ("ខ្ញុំត្រូវគេរំលោភ", "km", "sexual-assault-pep"),
        ("bullying at school", "en", "school-bullying"),
        ("សម្លុតនៅសាលា", "km", "school-bullying"),
        ("my partner died, do I inherit", "en", "partners-without-marriage"),
        ("HIV", "km", "hiv-health"),
    ],
)
def test_a_typed_keyword_finds_the_right_article(
    content: Content, typed: str, language: str, expected: str
) -> None:
    assert content.articles.search(typed, language)[0] == expected


def test_search_finds_nothing_for_noise(content: Content) -> None:
    assert content.articles.search("x", "en") == []
    assert content.articles.search("qwertyuiop", "en") == []


def test_khmer_dates_and_page_counters_use_khmer_digits(content: Content) -> None:
    assert format_date(date(2026, 12, 2), "km") == "ថ្ងៃទី២ ខែធ្នូ ឆ្នាំ២០២៦"
    assert format_date(date(2026, 12, 2), "en") == "2 December 2026"
    more = Button("nav.more", "t.m", {"page": "2", "pages": "3"})
    label = renderer(content).keyboard([[more]], "km").inline_keyboard[0][0].text
    assert "២/៣" in label and "2" not in label
    english = renderer(content).keyboard([[more]], "en").inline_keyboard[0][0].text
    assert "(2/3)" in english
    last = article_screen(content.texts, content.articles, "adoption", "km", 1)
    review = next(line for line in last.splitlines() if "សរសេរចេញពីប្រភព" in line)
    assert "ខែវិច្ឆិកា" in review and not any(d in review for d in "0123456789")


def test_the_counsellor_is_never_promised_by_first_name(content: Content) -> None:
    english = content.texts.text("counsellor.explain", "en")
    assert "first name" not in english and "alias" in english
    assert "នាមខ្លួន" not in content.texts.text("counsellor.explain", "km")


def test_statistics_show_province_names_and_keep_codes_in_csv(content: Content) -> None:
    tables = [suppress({"KH-17": 7, "KH-12": 9, "none": 6}, 5, "province")]
    text = render_text(with_province_names(tables, content.texts), 5, "stats")
    assert "Siem Reap" in text and "Phnom Penh" in text and "KH-17" not in text
    rows = list(
        csv.DictReader(io.StringIO(add_province_names(render_csv(tables, 5), content.texts)))
    )
    siem_reap = next(r for r in rows if r["value"] == "KH-17")
    assert siem_reap["name_en"] == "Siem Reap" and siem_reap["name_km"]
    assert next(r for r in rows if r["value"] == "total")["name_en"] == ""


def test_articles_directory_has_every_file_the_library_loads() -> None:
    files = {(p.parent.name, p.stem) for p in ARTICLES_DIR.glob("*/*.md")}
    assert {(lang, a) for a in NEW_TOPICS for lang in LANGUAGES} <= files
