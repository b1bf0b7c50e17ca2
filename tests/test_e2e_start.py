"""End to end: the real Application polls the emulator over HTTP and answers a person."""

from __future__ import annotations

from tests.conftest import RunningBot


async def test_start_is_answered_with_a_language_choice(running_bot: RunningBot) -> None:
    client = running_bot.client
    person = await client.add_user("Sokha", "Chan", "sokha_c")
    await client.send_text(person["id"], "/start")

    greeting = await client.wait_for_text(person["id"], "Please choose a language")
    labels = [b["text"] for row in greeting["reply_markup"]["inline_keyboard"] for b in row]
    assert labels[:2] == ["ភាសាខ្មែរ", "English"]
    assert "✕ ចាកចេញរហ័ស" in labels, "quick exit is on every screen"
    assert "សូមជ្រើសរើសភាសា" in greeting["text"]


async def test_pressing_a_language_button_answers_in_that_language(
    running_bot: RunningBot,
) -> None:
    client = running_bot.client
    person = await client.add_user("Dara")
    await client.send_text(person["id"], "/start")
    await client.wait_for_text(person["id"], "Please choose a language")

    query_id = await client.press(person["id"], "ភាសាខ្មែរ")

    privacy = await client.wait_for_text(person["id"], "មុននឹងចាប់ផ្តើម")
    labels = [b["text"] for row in privacy["reply_markup"]["inline_keyboard"] for b in row]
    assert "បន្ត" in labels, "the privacy notice continues in Khmer"
    assert len(await client.messages(person["id"])) == 2, "the choice screen was edited in place"
    answer = await client.callback_answer(query_id)
    assert answer is not None, "the button press is acknowledged so the spinner stops"


async def test_a_429_on_send_message_is_retried_and_the_message_arrives(
    running_bot: RunningBot,
) -> None:
    client = running_bot.client
    person = await client.add_user("Vanna")
    await client.inject_fault("sendMessage", 429, retry_after=1)

    await client.send_text(person["id"], "/start")

    await client.wait_for_text(person["id"], "Please choose a language", within=15)
    send_calls = await client.calls("sendMessage")
    assert len(send_calls) == 2, "one refused by the 429, one after waiting retry_after"
    outbox = running_bot.application.bot.rate_limiter
    assert outbox is not None and getattr(outbox, "retries", 0) >= 1


async def test_a_server_error_is_retried(running_bot: RunningBot) -> None:
    client = running_bot.client
    person = await client.add_user("Bopha")
    await client.inject_fault("sendMessage", 502, count=2)

    await client.send_text(person["id"], "/start")

    await client.wait_for_text(person["id"], "Please choose a language", within=15)
    assert len(await client.calls("sendMessage")) == 3


async def test_the_bot_publishes_its_commands_and_neutral_profile(running_bot: RunningBot) -> None:
    profile = await running_bot.client.profile()
    settings = running_bot.application.services.settings
    assert profile["profile"]["description"] == settings.bot.description
    commands = next(iter(profile["commands"].values()))
    assert {c["command"] for c in commands} >= {"start", "exit"}
