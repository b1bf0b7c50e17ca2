"""End to end over the emulator (no staff group configured): the privacy notice cannot be
skipped, a future month is asked again, a phone number brings the warning, the answer summary
does not stay in the chat after Save, and no counsellor is offered when none can be reached."""

from __future__ import annotations

from tests.conftest import RunningBot
from tests.people import Person


async def test_the_menu_command_does_not_skip_the_privacy_notice(running_bot: RunningBot) -> None:
    person = await Person.join(running_bot.client)
    await person.say("/start")
    await person.expect("Please choose a language")
    assert "Main menu" not in " ".join(await person.buttons())
    await person.choose("English", "Before we start")
    buttons = await person.buttons()
    assert "Continue" in buttons and not any("menu" in b.lower() for b in buttons)
    notice = await person.say_then("/menu", "Before we start")
    assert "not end-to-end encrypted" in notice["text"]
    assert "general information, not legal advice" in notice["text"]
    await person.choose("Continue", "What would you like to do?")


async def test_the_intake_checks_answers_and_clears_the_summary(running_bot: RunningBot) -> None:
    person = await Person.join(running_bot.client)
    await person.start_in_english()
    menu = await person.screen()
    assert "Counsellors cannot be reached" in menu["text"]
    assert "Talk to a counsellor" not in await person.buttons()
    await person.choose("Tell us what happened", "Do you agree that we keep a record")
    await person.choose("Yes, keep a record", "What was it about?")
    await person.choose("Work", "Why do you think it happened?")
    await person.choose("Skip", "In your own words")
    await person.say_then("my boss 012 345 678 fired me", "Nothing has been saved yet")
    await person.choose("Remove them, save the rest", "Roughly when did it happen?")
    await person.say_then("11/2030", "That month has not come yet")
    await person.say_then("3/2026", "In which province")
    await person.choose("Phnom Penh", "Who was responsible?")
    await person.choose("Employer or colleague", "Is anyone in danger now?")
    await person.choose("No", "What help would you like?")
    await person.choose("A lawyer", "May a counsellor read this summary")
    await person.choose("Yes", "May we share it")
    await person.press("No")
    summary = await person.expect("Please check your answers")
    assert "What happened: my boss […] fired me" in summary["text"]
    saved = await person.choose("Save", "Your case code is")
    assert saved["message_id"] == summary["message_id"], "the summary was edited in place"
    texts = [str(m.get("text")) for m in await person.messages()]
    assert not any("Please check your answers" in t for t in texts)
    assert not any("What happened:" in t for t in texts)
    assert "Find an organisation" in await person.buttons()

    store = running_bot.application.services.store
    code = str(saved["text"]).split("Your case code is ")[1].split(".")[0]
    case = await store.cases.get_by_code(code)
    assert case is not None and case.incident_month == "2026-03"
    answers = await store.cases.answers(case.id)
    assert answers["what"] == "my boss […] fired me"


async def test_without_a_counsellor_the_offer_is_not_made_then_refused(
    running_bot: RunningBot,
) -> None:
    person = await Person.join(running_bot.client)
    await person.start_in_english()
    await person.choose("Know your rights", "Choose a topic")
    await person.press((await person.buttons())[0])
    await person.choose("Continue ▸", "What would you like to do next?")
    await person.choose("Talk to a counsellor", "we cannot connect you with one here")
    assert (await person.buttons())[0] == "Find an organisation"
    await person.choose("Find an organisation", "What kind of help are you looking for?")
    texts = [str(m.get("text")) for m in await person.messages()]
    assert not any("Would you like to start?" in t for t in texts)
