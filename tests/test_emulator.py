"""The emulator against Telegram's documented behaviour, method by method, through PTB."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter

from sandbox.client import ControlError
from sandbox.html import HtmlParseError, parse_html
from sandbox.state import DELETE_WINDOW_SECONDS
from tests.conftest import TEST_TOKEN, Emulator


@pytest.fixture
async def bot(emulator: Emulator) -> AsyncIterator[Bot]:
    async with Bot(TEST_TOKEN, base_url=emulator.server.base_url) as bot:
        yield bot


@pytest.fixture
async def person(emulator: Emulator) -> dict[str, Any]:
    return await emulator.client.add_user("Sokha", "Chan", "sokha_c")


@pytest.fixture
async def forum(emulator: Emulator, person: dict[str, Any]) -> dict[str, Any]:
    return await emulator.client.add_forum_group("Staff", [person["id"]])


async def test_get_me_describes_the_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.username == "clgbt_sandbox_bot"


async def test_a_wrong_token_is_unauthorized(emulator: Emulator) -> None:
    stranger = Bot("999:wrong-token-wrong-token-wrong", base_url=emulator.server.base_url)
    with pytest.raises(InvalidToken):
        await stranger.initialize()


async def test_get_updates_honours_offset(
    bot: Bot, emulator: Emulator, person: dict[str, Any]
) -> None:
    await emulator.client.send_text(person["id"], "one")
    await emulator.client.send_text(person["id"], "two")
    first = await bot.get_updates()
    assert [u.message.text for u in first if u.message] == ["one", "two"]
    again = await bot.get_updates()
    assert len(again) == 2, "updates stay until confirmed by a higher offset"
    rest = await bot.get_updates(offset=first[0].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["two"]
    assert await bot.get_updates(offset=first[1].update_id + 1) == ()


async def test_get_updates_long_polls_until_an_update_arrives(
    bot: Bot, emulator: Emulator, person: dict[str, Any]
) -> None:
    async def later() -> None:
        await asyncio.sleep(0.3)
        await emulator.client.send_text(person["id"], "hello")

    task = asyncio.create_task(later())
    updates = await bot.get_updates(timeout=5)
    await task
    assert [u.message.text for u in updates if u.message] == ["hello"]


async def test_get_updates_returns_empty_after_the_timeout(bot: Bot) -> None:
    assert await bot.get_updates(timeout=1) == ()


async def test_send_message_limits_text_to_4096_characters(
    bot: Bot, person: dict[str, Any]
) -> None:
    sent = await bot.send_message(person["id"], "ក" * 4096)
    assert sent.text is not None and len(sent.text) == 4096
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(person["id"], "ក" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)empty"):
        await bot.send_message(person["id"], "   ")


async def test_send_message_to_an_unknown_chat_fails(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)[Cc]hat not found"):
        await bot.send_message(424242, "hello")


@pytest.mark.parametrize(
    ("html", "plain"),
    [
        ("<b>bold</b> &amp; <i>it</i>", "bold & it"),
        ("&lt;b&gt;&amp;", "<b>&"),
        ('<a href="https://example.org">link</a>', "link"),
        ("<code>x</code><pre>y</pre><u>z</u><s>w</s><tg-spoiler>v</tg-spoiler>", "xyzwv"),
    ],
)
def test_html_parse_mode_accepts_telegram_tags(html: str, plain: str) -> None:
    text, _ = parse_html(html)
    assert text == plain


@pytest.mark.parametrize(
    ("html", "fragment"),
    [
        ("<b>open", "Can't find end tag"),
        ("<script>x</script>", "Unsupported start tag"),
        ("a & b", "Can't find end of the entity"),
        ("<b>x</i>", "Unmatched end tag"),
        ("1 > 0", "Unexpected character"),
        ("&nbsp;", "Unsupported HTML entity"),
    ],
)
def test_html_parse_mode_rejects_what_telegram_rejects(html: str, fragment: str) -> None:
    with pytest.raises(HtmlParseError, match=fragment):
        parse_html(html)


async def test_unparsable_html_is_a_bad_request(bot: Bot, person: dict[str, Any]) -> None:
    with pytest.raises(BadRequest, match=r"(?i)parse entities"):
        await bot.send_message(person["id"], "<b>&", parse_mode="HTML")


async def test_entities_are_counted_in_utf16_units(bot: Bot, person: dict[str, Any]) -> None:
    sent = await bot.send_message(person["id"], "😀 <b>x</b>", parse_mode="HTML")
    assert sent.entities[0].offset == 3  # the emoji is two UTF-16 units, then a space


async def test_callback_data_over_64_bytes_is_rejected(bot: Bot, person: dict[str, Any]) -> None:
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="x" * 64)]])
    await bot.send_message(person["id"], "fits", reply_markup=ok)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("no", callback_data="ក" * 22)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(person["id"], "does not fit", reply_markup=too_long)


async def test_edit_text_and_keyboard(
    bot: Bot, emulator: Emulator, person: dict[str, Any]
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(person["id"], "first", reply_markup=keyboard)
    edited = await bot.edit_message_text("second", person["id"], sent.message_id)
    assert not isinstance(edited, bool) and edited.text == "second"
    assert edited.reply_markup is None, "editing without a keyboard removes it, as Telegram does"
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("second", person["id"], sent.message_id)
    await bot.edit_message_reply_markup(person["id"], sent.message_id, reply_markup=keyboard)
    [shown] = await emulator.client.messages(person["id"])
    assert shown["reply_markup"]["inline_keyboard"][0][0]["text"] == "A"
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", person["id"], 999)


async def test_answer_callback_query_once(
    bot: Bot, emulator: Emulator, person: dict[str, Any]
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="y")]])
    await bot.send_message(person["id"], "Sure?", reply_markup=keyboard)
    query_id = await emulator.client.press(person["id"], "Yes")
    [update] = await bot.get_updates()
    assert update.callback_query is not None and update.callback_query.data == "y"
    assert await bot.answer_callback_query(query_id, text="Done")
    assert await emulator.client.callback_answer(query_id) == {"text": "Done", "show_alert": False}
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)


async def test_delete_message_follows_the_48_hour_rule(
    bot: Bot, emulator: Emulator, person: dict[str, Any]
) -> None:
    old = await bot.send_message(person["id"], "old")
    theirs = await emulator.client.send_text(person["id"], "their old message")
    await emulator.client.advance_clock(DELETE_WINDOW_SECONDS + 1)
    fresh = await bot.send_message(person["id"], "fresh")
    with pytest.raises(BadRequest, match=r"(?i)can't be deleted for everyone"):
        await bot.delete_message(person["id"], old.message_id)
    with pytest.raises(BadRequest, match=r"(?i)can't be deleted"):
        await bot.delete_message(person["id"], theirs["message_id"])
    assert await bot.delete_message(person["id"], fresh.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(person["id"], fresh.message_id)
    deletions = await emulator.client.deletions(person["id"])
    assert [d["message_id"] for d in deletions] == [fresh.message_id]


async def test_delete_messages_deletes_what_it_can(
    bot: Bot, emulator: Emulator, person: dict[str, Any]
) -> None:
    mine = await bot.send_message(person["id"], "bot says")
    theirs = await emulator.client.send_text(person["id"], "person says")
    assert await bot.delete_messages(person["id"], [mine.message_id, theirs["message_id"], 999])
    assert await emulator.client.messages(person["id"]) == []
    assert len(await emulator.client.deletions(person["id"])) == 2


async def test_copy_message_carries_no_origin(
    bot: Bot, emulator: Emulator, person: dict[str, Any], forum: dict[str, Any]
) -> None:
    original = await emulator.client.send_text(person["id"], "what happened")
    topic = await bot.create_forum_topic(forum["id"], "Case K7Q")
    copied = await bot.copy_message(
        forum["id"],
        person["id"],
        original["message_id"],
        message_thread_id=topic.message_thread_id,
    )
    [shown] = [
        m
        for m in await emulator.client.messages(forum["id"], topic.message_thread_id)
        if m["message_id"] == copied.message_id
    ]
    assert shown["text"] == "what happened"
    assert "forward_origin" not in shown and shown["from"]["is_bot"]
    with pytest.raises(BadRequest, match=r"(?i)message to copy not found"):
        await bot.copy_message(forum["id"], person["id"], 999)


async def test_forward_message_keeps_the_origin(
    bot: Bot, emulator: Emulator, person: dict[str, Any], forum: dict[str, Any]
) -> None:
    original = await emulator.client.send_text(person["id"], "hello")
    forwarded = await bot.forward_message(forum["id"], person["id"], original["message_id"])
    assert forwarded.forward_origin is not None
    assert forwarded.forward_origin.sender_user.username == "sokha_c"  # type: ignore[attr-defined]
    assert [c["method"] for c in await emulator.client.calls("forwardMessage")] == [
        "forwardMessage"
    ]


async def test_media_by_file_id(bot: Bot, emulator: Emulator, person: dict[str, Any]) -> None:
    sent = await emulator.client.send_media(person["id"], "photo", caption="look")
    file_id = sent["photo"][-1]["file_id"]
    again = await bot.send_photo(person["id"], file_id, caption="<b>seen</b>", parse_mode="HTML")
    assert again.photo[-1].file_id == file_id and again.caption == "seen"
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(person["id"], "PHO-does-not-exist")
    for kind in ("document", "voice", "video", "sticker"):
        incoming = await emulator.client.send_media(person["id"], kind)
        item = incoming[kind]
        copied = await bot.copy_message(person["id"], person["id"], incoming["message_id"])
        assert copied.message_id > incoming["message_id"]
        assert item["file_id"]


async def test_reply_to_a_missing_message_fails(bot: Bot, person: dict[str, Any]) -> None:
    with pytest.raises(BadRequest, match=r"(?i)replied not found"):
        await bot.send_message(person["id"], "x", reply_parameters=ReplyParameters(999))
    sent = await bot.send_message(
        person["id"], "x", reply_parameters=ReplyParameters(999, allow_sending_without_reply=True)
    )
    assert sent.reply_to_message is None


async def test_forum_topics_lifecycle(
    bot: Bot, emulator: Emulator, person: dict[str, Any], forum: dict[str, Any]
) -> None:
    topic = await bot.create_forum_topic(forum["id"], "Case K7Q · work · en")
    thread = topic.message_thread_id
    await bot.send_message(forum["id"], "card", message_thread_id=thread)
    await emulator.client.send_text(
        person["id"], "staff note", chat_id=forum["id"], thread_id=thread
    )
    assert await bot.close_forum_topic(forum["id"], thread)
    with pytest.raises(BadRequest, match=r"(?i)TOPIC_CLOSED"):
        await bot.send_message(forum["id"], "while closed", message_thread_id=thread)
    assert await bot.reopen_forum_topic(forum["id"], thread)
    await bot.send_message(forum["id"], "open again", message_thread_id=thread)
    assert await bot.delete_forum_topic(forum["id"], thread)
    assert await emulator.client.messages(forum["id"], thread) == []
    assert await emulator.client.topics(forum["id"]) == []
    with pytest.raises(BadRequest, match=r"(?i)thread not found"):
        await bot.send_message(forum["id"], "gone", message_thread_id=thread)
    history = await emulator.client.history(forum["id"])
    assert all(m["deleted"] for m in history if m.get("message_thread_id") == thread)


async def test_create_forum_topic_needs_a_forum(bot: Bot, person: dict[str, Any]) -> None:
    with pytest.raises(BadRequest, match=r"(?i)not a forum"):
        await bot.create_forum_topic(person["id"], "nope")


async def test_set_my_commands_and_validation(bot: Bot, emulator: Emulator) -> None:
    assert await bot.set_my_commands([BotCommand("start", "Start")])
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


async def test_get_chat_and_get_chat_member(
    bot: Bot, person: dict[str, Any], forum: dict[str, Any]
) -> None:
    chat = await bot.get_chat(forum["id"])
    assert chat.is_forum and chat.type == "supergroup"
    member = await bot.get_chat_member(forum["id"], person["id"])
    assert member.status == "member"
    me = await bot.get_chat_member(forum["id"], bot.id)
    assert me.status == "administrator"
    stranger = await bot.get_chat(person["id"])
    assert stranger.type == "private"


async def test_injected_429_carries_retry_after(
    bot: Bot, emulator: Emulator, person: dict[str, Any]
) -> None:
    await emulator.client.inject_fault("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(person["id"], "x")
    assert caught.value._retry_after.total_seconds() == 7
    await bot.send_message(person["id"], "the fault is used up")


@pytest.mark.parametrize("code", [500, 502])
async def test_injected_server_errors(
    bot: Bot, emulator: Emulator, person: dict[str, Any], code: int
) -> None:
    await emulator.client.inject_fault("sendMessage", code)
    with pytest.raises(NetworkError):
        await bot.send_message(person["id"], "x")


async def test_people_cannot_post_in_groups_they_are_not_in(
    emulator: Emulator, forum: dict[str, Any]
) -> None:
    outsider = await emulator.client.add_user("Outsider")
    with pytest.raises(ControlError, match=r"(?i)not a member"):
        await emulator.client.send_text(outsider["id"], "hi", chat_id=forum["id"])


async def test_a_dropped_answer_after_execution_is_recorded(
    bot: Bot, emulator: Emulator, person: dict[str, Any]
) -> None:
    chat = int(person["id"])
    await emulator.client.inject_fault("sendMessage", kind="drop_after")
    with pytest.raises(NetworkError):
        await bot.send_message(chat, "executed, answer lost")
    assert [m["text"] for m in await emulator.client.messages(chat)] == ["executed, answer lost"]
    [lost] = await emulator.client.answers_lost()
    assert lost[0] == "sendMessage"


async def test_a_connection_dropped_before_execution_sends_nothing(
    bot: Bot, emulator: Emulator, person: dict[str, Any]
) -> None:
    chat = int(person["id"])
    await emulator.client.inject_fault("sendMessage", kind="drop_before")
    with pytest.raises(NetworkError):
        await bot.send_message(chat, "never executed")
    assert await emulator.client.messages(chat) == []
    sent = await bot.send_message(chat, "then it works")
    assert sent.text == "then it works"


async def test_an_outage_fails_every_call_until_it_ends(
    bot: Bot, emulator: Emulator, person: dict[str, Any]
) -> None:
    await emulator.client.outage(0.5)
    with pytest.raises(NetworkError):
        await bot.send_message(int(person["id"]), "during the outage")
    await asyncio.sleep(0.6)  # the outage is wall-clock time by definition
    assert (await bot.send_message(int(person["id"]), "after")).text == "after"


async def test_a_slow_answer_still_answers(
    bot: Bot, emulator: Emulator, person: dict[str, Any]
) -> None:
    await emulator.client.inject_fault("sendMessage", kind="slow", delay=0.3)
    sent = await bot.send_message(int(person["id"]), "slowly")
    assert sent.text == "slowly"
