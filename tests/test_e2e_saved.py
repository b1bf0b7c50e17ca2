"""After Save the summary leaves the chat; the person can read it again from the menu (until
they erase their data), and hide it again."""

from __future__ import annotations

from tests.conftest import RunningBot
from tests.people import Person
from tests.test_e2e_flows import intake_to_summary


def visible(messages: list[dict[str, object]], fragment: str) -> list[dict[str, object]]:
    """The bot's messages still showing ``fragment`` (the person's own typed answer is theirs;
    Quick exit and the automatic clean-up remove it)."""
    return [
        m
        for m in messages
        if fragment in str(m.get("text"))
        and not m.get("deleted")
        and isinstance(m.get("from"), dict)
        and m["from"].get("is_bot")  # type: ignore[union-attr]
    ]


async def test_saved_answers_can_be_read_again_and_hidden(running_bot: RunningBot) -> None:
    person = await Person.join(running_bot.client)
    await intake_to_summary(person, "my manager shouted at me")
    await person.choose("Save", "Your case code is")
    await person.choose("Not now", "What would you like to do?")
    assert visible(await person.messages(), "my manager shouted") == []

    shown = await person.choose("My saved answers", "Your saved answers")
    assert "What happened: my manager shouted at me" in str(shown["text"])
    await person.choose("Hide", "Your answers are hidden again")
    assert visible(await person.messages(), "my manager shouted") == []


async def test_without_saved_answers_the_person_is_told_so(running_bot: RunningBot) -> None:
    person = await Person.join(running_bot.client)
    await person.start_in_english()
    await person.choose("My saved answers", "You have no saved answers")
