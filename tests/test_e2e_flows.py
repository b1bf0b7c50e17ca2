"""End to end: people use the real bot over the emulator, in Khmer and English."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunningBot
from tests.people import Person
from tests.storage.conftest import database_files

MARKER = "QUOKKA-4471"


async def welcome(person: Person, language_button: str, continue_label: str) -> None:
    await person.say("/start")
    await person.expect("Please choose a language")
    await person.press(language_button)
    await person.expect(continue_label)
    await person.press(continue_label)


async def test_khmer_person_reads_an_article(running_bot: RunningBot) -> None:
    person = await Person.join(running_bot.client)
    await person.say("/start")
    await person.expect("សូមជ្រើសរើសភាសា")
    await person.choose("ភាសាខ្មែរ", "មុននឹងចាប់ផ្តើម")
    await person.choose("បន្ត", "តើអ្នកចង់ធ្វើអ្វី?")
    await person.choose("ស្គាល់សិទ្ធិរបស់អ្នក", "សូមជ្រើសរើសប្រធានបទ")
    page = await person.choose("ទំនាក់ទំនងភេទដូចគ្នា និងច្បាប់", "តើស្របច្បាប់ឬទេ?")
    assert page["text"].startswith("ទំនាក់ទំនងស្រឡាញ់ភេទដូចគ្នា និងច្បាប់")
    assert any(e["type"] == "bold" for e in page["entities"])
    assert "កំពុងរង់ចាំការពិនិត្យដោយអ្នកនិយាយភាសាខ្មែរ" in page["text"], "review state shown"
    assert "បន្ថែម (២/២) ▸" in await person.buttons(), "Khmer digits on Khmer screens"
    last = await person.choose("បន្ថែម (២/២) ▸", "ប្រភព៖")
    assert "មិនមែនជាដំបូន្មានផ្លូវច្បាប់ទេ" in last["text"]
    assert "2023-01-20" in last["text"], "every legal statement is sourced and dated"
    assert len(last["text"]) < 1000
    await person.choose("បន្ត ▸", "តើអ្នកចង់ធ្វើអ្វីបន្ទាប់?")


async def intake_to_summary(person: Person, what: str) -> dict[str, object]:
    await person.start_in_english()
    await person.choose("Tell us what happened", "Do you agree that we keep a record")
    await person.choose("Yes, keep a record", "What was it about?")
    await person.choose("Work", "Why do you think it happened?")
    await person.choose("Who I love (sexual orientation)", "In your own words")
    await person.say(what)
    await person.expect("Roughly when did it happen?")
    await person.say("3/2026")
    await person.expect("In which province")
    await person.choose("Phnom Penh", "Who was responsible?")
    await person.choose("Employer or colleague", "Is anyone in danger now?")
    await person.choose("No", "What help would you like?")
    await person.choose("A lawyer", "May a counsellor read this summary")
    await person.choose("Yes", "May we share it")
    await person.press("No")
    return await person.expect("Please check your answers")


async def test_a_full_intake_in_english(running_bot: RunningBot) -> None:
    person = await Person.join(running_bot.client)
    summary = await intake_to_summary(person, f"{MARKER} my boss fired me <b>&")
    text = str(summary["text"])
    assert "What it was about: Work" in text
    assert "When: 2026-03" in text and "Province: Phnom Penh" in text
    assert f"What happened: {MARKER} my boss fired me <b>&" in text, "typed HTML is literal"
    assert "Share with an organisation: No" in text
    saved = await person.choose("Save", "Your case code is")
    code = str(saved["text"]).split("Your case code is ")[1].split(".")[0]
    assert len(code) == 9 and code[4] == "-"
    await person.choose("Not now", "What would you like to do?")

    store = running_bot.application.services.store
    case = await store.cases.get_by_code(code)
    assert case is not None
    assert (case.category, case.province, case.perpetrator) == (
        "discrimination_work",
        "KH-12",
        "employer_colleague",
    )
    assert case.incident_month == "2026-03" and not case.urgent
    answers = await store.cases.answers(case.id)
    assert answers["what"] == f"{MARKER} my boss fired me <b>&"
    assert answers["grounds"] == "sexual_orientation" and answers["help"] == "lawyer"
    found = await store.people.find(person.id)
    assert found is not None and found.consents["share_counsellor"] is True
    assert found.consents["share_partner"] is False
    db_path = running_bot.application.services.settings.paths.database
    for name, raw in database_files(Path(db_path)).items():
        assert MARKER.encode() not in raw, name
        assert str(person.id).encode() not in raw, name


async def test_editing_and_discarding_an_intake(running_bot: RunningBot) -> None:
    person = await Person.join(running_bot.client)
    await intake_to_summary(person, "first version")
    await person.choose("Change an answer", "Which answer would you like to change?")
    await person.choose("What happened", "In your own words")
    summary = await person.say_then("second version", "What happened: second version")
    assert "Province: Phnom Penh" in summary["text"], "other answers are kept"
    await person.choose("Discard", "Discarded. Nothing was recorded.")
    assert await running_bot.application.services.store.cases.count() == 0


async def test_bad_input_gets_a_clear_answer_and_the_flow_continues(
    running_bot: RunningBot,
) -> None:
    client = running_bot.client
    person = await Person.join(client)
    await person.start_in_english()
    await person.choose("Tell us what happened", "Do you agree")
    await person.choose("Yes, keep a record", "What was it about?")
    await person.choose("Work", "Why do you think it happened?")
    await person.choose("Skip", "In your own words")

    await person.say("x" * 5000)
    await person.expect("That is 5000 characters; the limit here is 3000")
    await client.send_media(person.id, "sticker")
    await person.expect("Your sticker was not kept")
    await client.send_media(person.id, "photo", caption="a photo of the letter")
    await person.expect("Your photo was not kept")
    screen = await person.screen()
    await client.press_forged(person.id, screen["message_id"], "forged.0")
    await person.expect("That menu has closed")
    await client.press_forged(person.id, screen["message_id"], "x" * 64)
    assert "In your own words" in (await person.screen())["text"]

    await person.say("now a normal answer")
    await person.expect("Roughly when did it happen?")
    await person.say("next year-ish")
    await person.expect("Please write a month and year")
    await person.choose("Skip", "In which province")


async def test_an_old_button_says_the_menu_has_closed(running_bot: RunningBot) -> None:
    client = running_bot.client
    person = await Person.join(client)
    await person.start_in_english()
    old_menu = await person.screen()
    # A new menu screen; the old one loses its buttons.
    await person.say_then("/menu", "What would you like to do?")
    await client.press_forged(
        person.id,
        old_menu["message_id"],
        old_menu["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        if old_menu.get("reply_markup")
        else "old.0",
    )
    await person.expect("That menu has closed")


async def test_commands_back_language_help(running_bot: RunningBot) -> None:
    person = await Person.join(running_bot.client)
    await person.start_in_english()
    await person.choose("Staying safe", "Staying safe. Choose a topic.")
    await person.say_then("/help", "/menu shows the main menu")
    await person.say_then("/back", "What would you like to do?")
    await person.say_then("/language", "Please choose a language")
    await person.choose("ភាសាខ្មែរ", "មុននឹងចាប់ផ្តើម")
    store = running_bot.application.services.store
    found = await store.people.find(person.id)
    assert found is not None and found.language == "km"


async def test_find_an_organisation_shows_sourced_channels_and_how_to_reach_the_rest(
    running_bot: RunningBot,
) -> None:
    person = await Person.join(running_bot.client)
    await person.start_in_english()
    await person.choose("Find an organisation", "What kind of help")
    await person.choose("Legal help", "In which province?")
    found = await person.choose("Battambang", "Organisations that may help")
    assert "LICADHO" in found["text"] and "ADHOC" in found["text"]
    assert "licadho-cambodia.org" in found["text"], "a sourced channel is shown"
    assert "not yet confirmed with the organisation" in found["text"]
    assert "A counsellor can put you in touch" in found["text"], "ADHOC has no channel"
    await person.expect("Would you like to search again?")


async def test_quick_exit_and_erasure(running_bot: RunningBot) -> None:
    client = running_bot.client
    person = await Person.join(client)
    await intake_to_summary(person, "to be erased")
    await person.choose("Save", "Your case code is")
    await person.say("/delete")
    await person.expect("Erase everything?")
    query = await person.press("Yes, erase everything")
    await person.expect("Have a good day!")
    answer = await client.callback_answer(query)
    assert answer is not None and "erased" in answer["text"]
    store = running_bot.application.services.store
    assert await store.people.find(person.id) is None
    assert await store.cases.count() == 0

    await person.say("/start")
    await person.expect("Please choose a language")
    await person.press("✕ ចាកចេញរហ័ស")
    visible = await person.expect("សូមឱ្យមានថ្ងៃល្អ")
    texts = [m.get("text") for m in await person.messages()]
    assert "សូមជ្រើសរើសភាសា" not in "".join(t or "" for t in texts[-2:])
    assert visible["text"].startswith("សូមឱ្យមានថ្ងៃល្អ")
