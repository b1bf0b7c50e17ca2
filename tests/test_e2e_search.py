"""End to end: words typed at the menu find an article, in Khmer and English.

(Not "I was arrested": the crisis detector hears that, and the bot then gives the emergency
numbers and searches nothing; see tests/flows/test_search.py.)"""

from __future__ import annotations

import pytest

from tests.conftest import RunningBot
from tests.people import Person


async def start_in_khmer(person: Person) -> None:
    await person.say("/start")
    await person.expect("សូមជ្រើសរើសភាសា")
    await person.choose("ភាសាខ្មែរ", "មុននឹងចាប់ផ្តើម")
    await person.choose("បន្ត", "តើអ្នកចង់ធ្វើអ្វី?")


@pytest.mark.parametrize(
    ("language", "typed", "results", "label", "first_screen", "navigation"),
    [
        (
            "en",
            "my landlord wants to evict me",
            "Articles that match what you typed",
            "Renting and eviction",
            "No written contract?",
            ["☰ Menu", "✕ Quick exit"],
        ),
        (
            "km",
            "ម្ចាស់ផ្ទះចង់បណ្តេញខ្ញុំ",
            "អត្ថបទដែលត្រូវនឹងពាក្យដែលអ្នកបានសរសេរ",
            "ការជួលផ្ទះ និងការបណ្តេញចេញ",
            "គ្មានកិច្ចសន្យាជាលាយលក្ខណ៍អក្សរ?",
            ["☰ ម៉ឺនុយ", "✕ ចាកចេញរហ័ស"],
        ),
    ],
)
async def test_a_keyword_typed_at_the_menu_opens_the_article(
    running_bot: RunningBot,
    language: str,
    typed: str,
    results: str,
    label: str,
    first_screen: str,
    navigation: list[str],
) -> None:
    person = await Person.join(running_bot.client)
    if language == "en":
        await person.start_in_english()
    else:
        await start_in_khmer(person)
    await person.say_then(typed, results)
    offered = await person.buttons()
    assert offered[0] == label
    assert len(offered) <= 5 + 2, "up to five articles, then Menu and Quick exit"
    assert offered[-2:] == navigation, "the usual navigation"
    page = await person.choose(label, first_screen)
    assert str(page["text"]).startswith(label), "the article's first screen, with its title"
