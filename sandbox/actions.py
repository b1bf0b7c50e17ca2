"""What people do in the emulated Telegram: write, send media, edit, press buttons.

Each action stores the message as Telegram would and queues the update the bot will receive.
"""

from __future__ import annotations

from typing import Any

from sandbox.errors import ApiError
from sandbox.methods import new_callback_query_id
from sandbox.state import MEDIA_KINDS, Chat, Message, TelegramState


def _chat_for(state: TelegramState, user_id: int, chat_id: int | None) -> Chat:
    state.user(user_id)
    chat = state.chat(user_id if chat_id is None else chat_id)
    if chat.type == "private" and chat.id != user_id:
        raise ApiError(403, "Forbidden: a person can only write in their own private chat")
    if chat.type != "private" and user_id not in chat.members:
        raise ApiError(403, "Forbidden: the person is not a member of this group")
    return chat


def _thread_for(chat: Chat, user_id: int, thread_id: int | None) -> int | None:
    if thread_id is None:
        return None
    topic = chat.topics.get(thread_id)
    if topic is None:
        raise ApiError(400, "Bad Request: message thread not found")
    if topic.closed and chat.members.get(user_id) != "administrator":
        raise ApiError(400, "Bad Request: TOPIC_CLOSED")
    return thread_id


def _post(
    state: TelegramState,
    user_id: int,
    chat_id: int | None,
    thread_id: int | None,
    reply_to: int | None,
    **fields: Any,
) -> dict[str, Any]:
    chat = _chat_for(state, user_id, chat_id)
    message = Message(
        chat_id=chat.id,
        message_id=state.next_message_id(chat.id),
        date=state.now(),
        sender_id=user_id,
        thread_id=_thread_for(chat, user_id, thread_id),
        reply_to=reply_to if reply_to and state.message(chat.id, reply_to) else None,
        **fields,
    )
    rendered = state.render(state.store(message))
    state.push_update("message", rendered)
    return rendered


def send_text(
    state: TelegramState,
    user_id: int,
    text: str,
    *,
    chat_id: int | None = None,
    thread_id: int | None = None,
    reply_to: int | None = None,
) -> dict[str, Any]:
    entities: list[dict[str, Any]] = []
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        entities.append(
            {"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}
        )
    return _post(state, user_id, chat_id, thread_id, reply_to, text=text, entities=entities)


def send_media(
    state: TelegramState,
    user_id: int,
    kind: str,
    *,
    caption: str | None = None,
    chat_id: int | None = None,
    thread_id: int | None = None,
    reply_to: int | None = None,
    sample: str | None = None,
) -> dict[str, Any]:
    if kind not in MEDIA_KINDS:
        raise ApiError(400, f"Bad Request: unknown media kind {kind}")
    stored = state.new_file(kind, sample=sample)
    return _post(
        state,
        user_id,
        chat_id,
        thread_id,
        reply_to,
        media_kind=kind,
        file_id=stored.file_id,
        caption=caption,
    )


def send_location(
    state: TelegramState,
    user_id: int,
    latitude: float,
    longitude: float,
    *,
    chat_id: int | None = None,
    thread_id: int | None = None,
) -> dict[str, Any]:
    return _post(
        state,
        user_id,
        chat_id,
        thread_id,
        None,
        location={"latitude": latitude, "longitude": longitude},
    )


def edit_text(
    state: TelegramState, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
) -> dict[str, Any]:
    chat = _chat_for(state, user_id, chat_id)
    message = state.message(chat.id, message_id)
    if message is None or message.sender_id != user_id or message.text is None:
        raise ApiError(400, "Bad Request: message to edit not found")
    message.text = text
    message.edit_date = state.now()
    rendered = state.render(message)
    state.push_update("edited_message", rendered)
    return rendered


def _callback(
    state: TelegramState, user_id: int, message: Message, data: str, label: str = ""
) -> str:
    query_id = new_callback_query_id()
    state.callback_queries[query_id] = {
        "at": state.now(),
        "answered": False,
        "answer": None,
        "user_id": user_id,
        "chat_id": message.chat_id,
        "message_id": message.message_id,
        "thread_id": message.thread_id,
        "data": data,
        "label": label,
    }
    state.push_update(
        "callback_query",
        {
            "id": query_id,
            "from": state.user(user_id).to_api(),
            "message": state.render(message),
            "chat_instance": str(abs(message.chat_id)),
            "data": data,
        },
    )
    return query_id


def press(
    state: TelegramState,
    user_id: int,
    label: str,
    *,
    chat_id: int | None = None,
    message_id: int | None = None,
) -> str:
    """Press the newest visible inline button whose text is ``label``; return the query id."""
    chat = _chat_for(state, user_id, chat_id)
    candidates = [m for m in state.visible(chat.id) if m.sender_id == state.bot.id]
    if message_id is not None:
        candidates = [m for m in candidates if m.message_id == message_id]
    for message in reversed(candidates):
        for button in message.buttons:
            if button.get("text") == label and "callback_data" in button:
                return _callback(state, user_id, message, str(button["callback_data"]), label)
    raise ApiError(400, f'Bad Request: no button labelled "{label}" in this chat')


def press_forged(
    state: TelegramState, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
) -> str:
    """Send callback data the bot never offered, as a tampered client could."""
    chat = _chat_for(state, user_id, chat_id)
    message = state.message(chat.id, message_id)
    if message is None:
        raise ApiError(400, "Bad Request: message not found")
    return _callback(state, user_id, message, data)
