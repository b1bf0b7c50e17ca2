"""The Bot API methods the bot depends on, answered from :class:`TelegramState`.

Each method takes the decoded parameters and returns the ``result`` value, or raises
:class:`ApiError` with the code and description the real Bot API gives for the same mistake.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from sandbox.errors import ApiError
from sandbox.html import HtmlParseError, parse_html, utf16_len
from sandbox.state import (
    DELETE_WINDOW_SECONDS,
    MEDIA_KINDS,
    Chat,
    Message,
    TelegramState,
    Topic,
)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_TOPIC_NAME = 128

# Parameters that Telegram receives as plain strings; every other value arrives JSON-encoded.
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "name",
        "description",
        "short_description",
        "callback_query_id",
        "url",
        "secret_token",
        "icon_custom_emoji_id",
        "language_code",
        "file_id",
        "emoji",
    }
)

Params = dict[str, Any]
Method = Callable[[TelegramState, Params], Any]


def decode_params(raw: dict[str, str]) -> Params:
    """Decode form fields the way the Bot API does: strings stay strings, the rest is JSON."""
    params: Params = {}
    for key, value in raw.items():
        if key in STRING_PARAMS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except (json.JSONDecodeError, ValueError):
            params[key] = value
    return params


def _require(params: Params, name: str) -> Any:
    if name not in params or params[name] in (None, ""):
        raise ApiError(
            400,
            f"Bad Request: {name} is empty"
            if name == "text"
            else f'Bad Request: parameter "{name}" is required',
        )
    return params[name]


def _int(params: Params, name: str, default: int | None = None) -> int | None:
    value = params.get(name, default)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid {name} specified") from None


def _formatted(params: Params, key: str, limit: int) -> tuple[str, list[dict[str, Any]]]:
    text = str(params.get(key, ""))
    entities: list[dict[str, Any]] = (
        params.get(f"{'caption_' if key == 'caption' else ''}entities") or []
    )
    mode = str(params.get("parse_mode") or "")
    if mode.upper() == "HTML":
        try:
            text, entities = parse_html(text)
        except HtmlParseError as exc:
            raise ApiError(400, f"Bad Request: {exc}") from None
    elif mode and mode.upper() not in ("MARKDOWN", "MARKDOWNV2"):
        raise ApiError(400, f'Bad Request: unsupported parse_mode "{mode}"')
    if key == "text" and not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if utf16_len(text) > limit:
        raise ApiError(
            400,
            "Bad Request: message is too long"
            if key == "text"
            else "Bad Request: message caption is too long",
        )
    return text, entities


def _markup(params: Params) -> dict[str, Any] | None:
    markup = params.get("reply_markup")
    if markup is None:
        return None
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except json.JSONDecodeError:
            raise ApiError(
                400, "Bad Request: can't parse reply keyboard markup JSON object"
            ) from None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not str(button.get("text", "")).strip():
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and len(str(data).encode("utf-8")) > MAX_CALLBACK_DATA:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if data is None and "url" not in button:
                raise ApiError(400, "Bad Request: can't parse inline keyboard button")
    return markup


def _thread(state: TelegramState, chat: Chat, params: Params) -> int | None:
    thread_id = _int(params, "message_thread_id")
    if thread_id is None or (thread_id == 1 and chat.is_forum):
        return None
    if not chat.is_forum:
        return None
    topic = chat.topics.get(thread_id)
    if topic is None:
        raise ApiError(400, "Bad Request: message thread not found")
    if topic.closed:
        raise ApiError(400, "Bad Request: TOPIC_CLOSED")
    return thread_id


def _reply_to(state: TelegramState, chat: Chat, params: Params) -> int | None:
    target = _int(params, "reply_to_message_id")
    reply_parameters = params.get("reply_parameters")
    if isinstance(reply_parameters, dict):
        target = _int(reply_parameters, "message_id")
        allow = bool(reply_parameters.get("allow_sending_without_reply"))
    else:
        allow = bool(params.get("allow_sending_without_reply"))
    if target is None:
        return None
    if state.message(chat.id, target) is None:
        if allow:
            return None
        raise ApiError(400, "Bad Request: message to be replied not found")
    return target


def _send(state: TelegramState, params: Params, **fields: Any) -> dict[str, Any]:
    chat = state.chat(_require(params, "chat_id"))
    thread_id = _thread(state, chat, params)
    message = Message(
        chat_id=chat.id,
        message_id=state.next_message_id(chat.id),
        date=state.now(),
        sender_id=state.bot.id,
        reply_markup=_markup(params),
        thread_id=thread_id,
        reply_to=_reply_to(state, chat, params),
        protect_content=bool(params.get("protect_content")),
        **fields,
    )
    return state.render(state.store(message))


# ------------------------------------------------------------------ identity and setup
def get_me(state: TelegramState, params: Params) -> Any:
    return {
        **state.bot.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": True,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def set_my_commands(state: TelegramState, params: Params) -> Any:
    commands = params.get("commands")
    if not isinstance(commands, list):
        raise ApiError(400, "Bad Request: can't parse commands JSON object")
    for command in commands:
        name = str(command.get("command", ""))
        if (
            not name
            or len(name) > 32
            or not all(c.islower() or c.isdigit() or c == "_" for c in name)
        ):
            raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
    scope = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
    state.commands[f"{scope}|{params.get('language_code', '')}"] = commands
    return True


def get_my_commands(state: TelegramState, params: Params) -> Any:
    scope = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
    return state.commands.get(f"{scope}|{params.get('language_code', '')}", [])


def _profile_setter(field: str, limit: int) -> Method:
    def setter(state: TelegramState, params: Params) -> Any:
        value = str(params.get(field, ""))
        if len(value) > limit:
            raise ApiError(400, f"Bad Request: {field.upper()}_INVALID")
        state.profile[field] = value
        return True

    return setter


def delete_webhook(state: TelegramState, params: Params) -> Any:
    if params.get("drop_pending_updates"):
        state.updates.clear()
    return True


def get_webhook_info(state: TelegramState, params: Params) -> Any:
    return {"url": "", "has_custom_certificate": False, "pending_update_count": len(state.updates)}


def get_updates(state: TelegramState, params: Params) -> Any:
    limit = max(1, min(100, _int(params, "limit", 100) or 100))
    return state.pending_updates(_int(params, "offset"), limit)


# ------------------------------------------------------------------ sending
def send_message(state: TelegramState, params: Params) -> Any:
    text, entities = _formatted(params, "text", MAX_TEXT)
    return _send(state, params, text=text, entities=entities)


def _send_media(kind: str) -> Method:
    def send(state: TelegramState, params: Params) -> Any:
        file_ref = params.get(kind)
        if isinstance(file_ref, str) and file_ref.startswith("attach://"):
            file_ref = None
        if isinstance(file_ref, str) and file_ref:
            stored = state.files.get(file_ref)
            if stored is None:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            if stored.kind != kind and not (kind == "document"):
                raise ApiError(
                    400,
                    f"Bad Request: can't use file of type {stored.kind.title()} as {kind.title()}",
                )
            file_id = stored.file_id
        elif params.get(f"__upload_{kind}"):
            file_id = state.new_file(kind).file_id
        else:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        caption: str | None = None
        caption_entities: list[dict[str, Any]] = []
        if params.get("caption"):
            caption, caption_entities = _formatted(params, "caption", MAX_CAPTION)
        return _send(
            state,
            params,
            media_kind=kind,
            file_id=file_id,
            caption=caption,
            caption_entities=caption_entities,
        )

    return send


def send_location(state: TelegramState, params: Params) -> Any:
    try:
        latitude = float(_require(params, "latitude"))
        longitude = float(_require(params, "longitude"))
    except (TypeError, ValueError):
        raise ApiError(400, "Bad Request: wrong latitude or longitude") from None
    return _send(state, params, location={"latitude": latitude, "longitude": longitude})


def send_chat_action(state: TelegramState, params: Params) -> Any:
    state.chat(_require(params, "chat_id"))
    return True


def _source_message(state: TelegramState, params: Params) -> Message:
    source_chat = state.chat(_require(params, "from_chat_id"))
    message_id = _int(params, "message_id")
    source = state.message(source_chat.id, message_id or 0)
    if source is None:
        raise ApiError(400, "Bad Request: message to copy not found")
    if source.service:
        raise ApiError(400, "Bad Request: message can't be copied")
    return source


def copy_message(state: TelegramState, params: Params) -> Any:
    source = _source_message(state, params)
    caption, caption_entities = source.caption, source.caption_entities
    if "caption" in params:
        caption, caption_entities = _formatted(params, "caption", MAX_CAPTION)
    sent = _send(
        state,
        params,
        text=source.text,
        entities=list(source.entities),
        caption=caption,
        caption_entities=list(caption_entities),
        media_kind=source.media_kind,
        file_id=source.file_id,
        location=source.location,
        copy_of=(source.chat_id, source.message_id),
    )
    return {"message_id": sent["message_id"]}


def forward_message(state: TelegramState, params: Params) -> Any:
    source = _source_message(state, params)
    if source.protect_content:
        raise ApiError(400, "Bad Request: message can't be forwarded")
    source_chat = state.chats[source.chat_id]
    sender = state.users.get(source.sender_id)
    origin: dict[str, Any]
    if source_chat.type == "private" and sender is not None:
        origin = {"type": "user", "date": int(source.date), "sender_user": sender.to_api()}
    else:
        origin = {"type": "chat", "date": int(source.date), "sender_chat": source_chat.to_api()}
    return _send(
        state,
        params,
        text=source.text,
        entities=list(source.entities),
        caption=source.caption,
        caption_entities=list(source.caption_entities),
        media_kind=source.media_kind,
        file_id=source.file_id,
        location=source.location,
        forward_origin=origin,
    )


# ------------------------------------------------------------------ editing and deleting
def _editable(state: TelegramState, params: Params) -> Message:
    chat = state.chat(_require(params, "chat_id"))
    message = state.message(chat.id, _int(params, "message_id") or 0)
    if message is None:
        raise ApiError(400, "Bad Request: message to edit not found")
    if message.sender_id != state.bot.id:
        raise ApiError(400, "Bad Request: message can't be edited")
    return message


def edit_message_text(state: TelegramState, params: Params) -> Any:
    message = _editable(state, params)
    if message.text is None:
        raise ApiError(400, "Bad Request: there is no text in the message to edit")
    text, entities = _formatted(params, "text", MAX_TEXT)
    markup = _markup(params)
    if text == message.text and entities == message.entities and markup == message.reply_markup:
        raise ApiError(
            400,
            "Bad Request: message is not modified: specified new message content "
            "and reply markup are exactly the same as a current content and reply "
            "markup of the message",
        )
    message.text, message.entities, message.reply_markup = text, entities, markup
    message.edit_date = state.now()
    return state.render(message)


def edit_message_reply_markup(state: TelegramState, params: Params) -> Any:
    message = _editable(state, params)
    markup = _markup(params)
    if markup == message.reply_markup:
        raise ApiError(
            400,
            "Bad Request: message is not modified: specified new message content "
            "and reply markup are exactly the same as a current content and reply "
            "markup of the message",
        )
    message.reply_markup = markup
    message.edit_date = state.now()
    return state.render(message)


def _deletable(state: TelegramState, chat: Chat, message: Message) -> bool:
    if chat.type == "private":
        return state.now() - message.date < DELETE_WINDOW_SECONDS
    if message.sender_id == state.bot.id and state.now() - message.date < DELETE_WINDOW_SECONDS:
        return True
    return chat.members.get(state.bot.id) == "administrator"


def delete_message(state: TelegramState, params: Params) -> Any:
    chat = state.chat(_require(params, "chat_id"))
    message = state.message(chat.id, _int(params, "message_id") or 0)
    if message is None:
        raise ApiError(400, "Bad Request: message to delete not found")
    if message.service and message.service.get("forum_topic_created"):
        raise ApiError(400, "Bad Request: message can't be deleted")
    if not _deletable(state, chat, message):
        raise ApiError(400, "Bad Request: message can't be deleted for everyone")
    state.delete(chat.id, message.message_id, "bot")
    return True


def delete_messages(state: TelegramState, params: Params) -> Any:
    chat = state.chat(_require(params, "chat_id"))
    ids = params.get("message_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise ApiError(400, "Bad Request: message_ids must be a list of 1-100 identifiers")
    deleted = 0
    for raw_id in ids:
        message = state.message(chat.id, int(raw_id))
        if message is None or message.service or not _deletable(state, chat, message):
            continue
        state.delete(chat.id, message.message_id, "bot")
        deleted += 1
    if deleted == 0:
        raise ApiError(400, "Bad Request: message to delete not found")
    return True


def answer_callback_query(state: TelegramState, params: Params) -> Any:
    query_id = str(_require(params, "callback_query_id"))
    query = state.callback_queries.get(query_id)
    if query is None or query.get("answered") or state.now() - query["at"] > 15 * 60:
        raise ApiError(
            400,
            "Bad Request: query is too old and response timeout expired or query ID is invalid",
        )
    text = str(params.get("text") or "")
    if len(text) > 200:
        raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
    query["answered"] = True
    query["answer"] = {"text": text, "show_alert": bool(params.get("show_alert"))}
    return True


# ------------------------------------------------------------------ chats and forum topics
def get_chat(state: TelegramState, params: Params) -> Any:
    chat = state.chat(_require(params, "chat_id"))
    return {
        **chat.to_api(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


def get_chat_member(state: TelegramState, params: Params) -> Any:
    chat = state.chat(_require(params, "chat_id"))
    user_id = _int(params, "user_id") or 0
    user = state.user(user_id)
    status = chat.members.get(user_id, "left")
    if chat.type == "private":
        status = "member" if user_id in (chat.id, state.bot.id) else "left"
    member: dict[str, Any] = {"status": status, "user": user.to_api()}
    if status == "administrator":
        member.update(
            {
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
                "can_manage_topics": True,
                "can_pin_messages": True,
            }
        )
    return member


def _forum(state: TelegramState, params: Params) -> Chat:
    chat = state.chat(_require(params, "chat_id"))
    if not chat.is_forum:
        raise ApiError(400, "Bad Request: the chat is not a forum")
    if chat.members.get(state.bot.id) != "administrator":
        raise ApiError(400, "Bad Request: not enough rights to create a topic")
    return chat


def _topic(state: TelegramState, params: Params) -> tuple[Chat, int]:
    chat = _forum(state, params)
    thread_id = _int(params, "message_thread_id") or 0
    if thread_id not in chat.topics:
        raise ApiError(400, "Bad Request: message thread not found")
    return chat, thread_id


def create_forum_topic(state: TelegramState, params: Params) -> Any:
    chat = _forum(state, params)
    name = str(params.get("name") or "")
    if not 1 <= len(name) <= MAX_TOPIC_NAME:
        raise ApiError(
            400,
            "Bad Request: TOPIC_NAME_INVALID"
            if name
            else 'Bad Request: parameter "name" is required',
        )
    thread_id = state.next_message_id(chat.id)
    color = _int(params, "icon_color", 7322096) or 7322096
    created = {"name": name, "icon_color": color}
    state.store(
        Message(
            chat.id,
            thread_id,
            state.now(),
            state.bot.id,
            thread_id=thread_id,
            service={"forum_topic_created": created},
        )
    )
    chat.topics[thread_id] = Topic(thread_id, name, color)
    return {"message_thread_id": thread_id, "name": name, "icon_color": color}


def edit_forum_topic(state: TelegramState, params: Params) -> Any:
    chat, thread_id = _topic(state, params)
    if params.get("name"):
        chat.topics[thread_id].name = str(params["name"])[:MAX_TOPIC_NAME]
    return True


def close_forum_topic(state: TelegramState, params: Params) -> Any:
    chat, thread_id = _topic(state, params)
    if chat.topics[thread_id].closed:
        raise ApiError(400, "Bad Request: TOPIC_NOT_MODIFIED")
    chat.topics[thread_id].closed = True
    return True


def reopen_forum_topic(state: TelegramState, params: Params) -> Any:
    chat, thread_id = _topic(state, params)
    if not chat.topics[thread_id].closed:
        raise ApiError(400, "Bad Request: TOPIC_NOT_MODIFIED")
    chat.topics[thread_id].closed = False
    return True


def delete_forum_topic(state: TelegramState, params: Params) -> Any:
    chat, thread_id = _topic(state, params)
    for message in state.visible(chat.id, thread_id):
        state.delete(chat.id, message.message_id, "topic")
    del chat.topics[thread_id]
    return True


METHODS: dict[str, Method] = {
    "getme": get_me,
    "getupdates": get_updates,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
    "setmycommands": set_my_commands,
    "getmycommands": get_my_commands,
    "deletemycommands": lambda state, params: set_my_commands(state, {**params, "commands": []}),
    "setmyname": _profile_setter("name", 64),
    "setmydescription": _profile_setter("description", 512),
    "setmyshortdescription": _profile_setter("short_description", 120),
    "sendmessage": send_message,
    "sendlocation": send_location,
    "sendchataction": send_chat_action,
    "copymessage": copy_message,
    "forwardmessage": forward_message,
    "editmessagetext": edit_message_text,
    "editmessagereplymarkup": edit_message_reply_markup,
    "deletemessage": delete_message,
    "deletemessages": delete_messages,
    "answercallbackquery": answer_callback_query,
    "getchat": get_chat,
    "getchatmember": get_chat_member,
    "createforumtopic": create_forum_topic,
    "editforumtopic": edit_forum_topic,
    "closeforumtopic": close_forum_topic,
    "reopenforumtopic": reopen_forum_topic,
    "deleteforumtopic": delete_forum_topic,
    **{f"send{kind}": _send_media(kind) for kind in MEDIA_KINDS},
}


def new_callback_query_id() -> str:
    return secrets.token_hex(8)
