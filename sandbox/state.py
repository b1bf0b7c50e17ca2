"""The emulator's world: users, chats, forum topics, messages, files and pending updates.

Nothing here does I/O. The HTTP server (:mod:`sandbox.server`) turns requests into calls on
:class:`TelegramState`, and the Bot API methods (:mod:`sandbox.methods`) use it to answer.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import ApiError

DELETE_WINDOW_SECONDS = 48 * 3600
BOT_USER_ID = 7_000_000_001
MEDIA_KINDS = ("photo", "document", "voice", "video", "sticker", "audio", "animation")


@dataclass
class User:
    id: int
    first_name: str
    last_name: str = ""
    username: str = ""
    is_bot: bool = False
    language_code: str = "en"

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "is_bot": self.is_bot,
            "first_name": self.first_name,
        }
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if not self.is_bot:
            data["language_code"] = self.language_code
        return data


@dataclass
class Topic:
    thread_id: int
    name: str
    icon_color: int = 7322096
    closed: bool = False


@dataclass
class Chat:
    id: int
    type: str
    title: str = ""
    is_forum: bool = False
    user: User | None = None
    members: dict[int, str] = field(default_factory=dict)
    topics: dict[int, Topic] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        if self.type == "private" and self.user is not None:
            data: dict[str, Any] = {
                "id": self.id,
                "type": "private",
                "first_name": self.user.first_name,
            }
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
            return data
        data = {"id": self.id, "type": self.type, "title": self.title}
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass
class Message:
    chat_id: int
    message_id: int
    date: float
    sender_id: int
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    media_kind: str | None = None
    file_id: str | None = None
    location: dict[str, float] | None = None
    reply_markup: dict[str, Any] | None = None
    thread_id: int | None = None
    reply_to: int | None = None
    forward_origin: dict[str, Any] | None = None
    protect_content: bool = False
    edit_date: float | None = None
    service: dict[str, Any] | None = None
    deleted: bool = False
    # Where a copyMessage copy came from (chat id, message id): never sent to the bot, it lets
    # the training page and its checklist tell what a counsellor's message reached the person.
    copy_of: tuple[int, int] | None = None

    @property
    def buttons(self) -> list[dict[str, Any]]:
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard", [])
        return [button for row in rows for button in row]


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    size: int
    sample: str | None = None  # the name of a sample file in sandbox/samples/ with its bytes


@dataclass
class Fault:
    """An injected failure. ``kind``: ``error`` (answer ``error_code``), ``drop_before`` (close
    the connection without executing), ``drop_after`` (execute, then close the connection
    without answering: the call happened but its answer is lost), ``slow`` (answer after
    ``delay`` seconds)."""

    method: str
    error_code: int
    retry_after: int | None
    remaining: int
    kind: str = "error"
    delay: float = 0.0


FAULT_KINDS = ("error", "drop_before", "drop_after", "slow")


@dataclass(frozen=True)
class Deletion:
    chat_id: int
    message_id: int
    by: str
    at: float


@dataclass(frozen=True)
class CallLog:
    method: str
    chat_id: int | str | None
    at: float


class TelegramState:
    """Everything the emulated Telegram knows. Single-threaded: use from one event loop."""

    def __init__(
        self,
        token: str,
        *,
        bot_username: str = "clgbt_sandbox_bot",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.bot = User(BOT_USER_ID, "Sandbox Bot", username=bot_username, is_bot=True)
        self._clock = clock
        self.clock_offset = 0.0
        self.users: dict[int, User] = {self.bot.id: self.bot}
        self.chats: dict[int, Chat] = {}
        self.messages: dict[int, dict[int, Message]] = {}
        self.files: dict[str, StoredFile] = {}
        self.updates: list[dict[str, Any]] = []
        self.confirmed_offset = 0
        self.faults: list[Fault] = []
        self.outage_until = 0.0  # wall-clock time until which every Bot API call fails
        # Calls executed whose answer was dropped: (method, chat_id, message_id or None).
        self.answers_lost: list[tuple[str, Any, Any]] = []
        self.deletions: list[Deletion] = []
        self.calls: list[CallLog] = []
        self.callback_queries: dict[str, dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.profile: dict[str, str] = {"name": "", "description": "", "short_description": ""}
        self._update_ids = itertools.count(1)
        self._user_ids = itertools.count(100_000_001)
        self._group_ids = itertools.count(1_000_000_001)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self.update_listeners: list[Callable[[], None]] = []
        # Bumped after every request that may have changed what people see (the training
        # page waits on it instead of reloading).
        self.version = 0
        self.change_listeners: list[Callable[[], None]] = []
        # What the sandbox set up (staff, chats, roles), shown by the control interface.
        self.world: dict[str, Any] = {}

    # ---------------------------------------------------------------- time
    def now(self) -> float:
        return self._clock() + self.clock_offset

    def advance(self, seconds: float) -> None:
        self.clock_offset += seconds

    # ---------------------------------------------------------------- people and chats
    def add_user(
        self, first_name: str, last_name: str = "", username: str = "", language_code: str = "en"
    ) -> User:
        user = User(
            next(self._user_ids), first_name, last_name, username, language_code=language_code
        )
        self.users[user.id] = user
        chat = Chat(user.id, "private", user=user)
        self.chats[chat.id] = chat
        self.messages[chat.id] = {}
        return user

    def changed(self) -> None:
        self.version += 1
        for listener in list(self.change_listeners):
            listener()

    def add_forum_group(
        self, title: str, member_ids: list[int], admin_ids: list[int], *, forum: bool = True
    ) -> Chat:
        chat_id = -next(self._group_ids)
        chat = Chat(chat_id, "supergroup", title=title, is_forum=forum)
        chat.members[self.bot.id] = "administrator"
        for user_id in member_ids:
            chat.members[user_id] = "member"
        for user_id in admin_ids:
            chat.members[user_id] = "administrator"
        self.chats[chat_id] = chat
        self.messages[chat_id] = {}
        # Message 1 of a forum is its creation; the General topic answers to thread id 1.
        self.store(
            Message(
                chat_id,
                self.next_message_id(chat_id),
                self.now(),
                self.bot.id,
                service={"group_chat_created": True},
            )
        )
        return chat

    def chat(self, chat_id: Any) -> Chat:
        try:
            chat = self.chats[int(chat_id)]
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        return chat

    def user(self, user_id: int) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise ApiError(400, "Bad Request: user not found") from None

    # ---------------------------------------------------------------- messages
    def next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def store(self, message: Message) -> Message:
        self.messages[message.chat_id][message.message_id] = message
        return message

    def message(self, chat_id: int, message_id: int) -> Message | None:
        found = self.messages.get(chat_id, {}).get(message_id)
        if found is None or found.deleted:
            return None
        return found

    def visible(self, chat_id: int, thread_id: int | None = None) -> list[Message]:
        chat_messages = self.messages.get(chat_id, {}).values()
        return [
            m
            for m in sorted(chat_messages, key=lambda m: m.message_id)
            if not m.deleted and (thread_id is None or m.thread_id == thread_id)
        ]

    def delete(self, chat_id: int, message_id: int, by: str) -> None:
        message = self.messages[chat_id][message_id]
        message.deleted = True
        self.deletions.append(Deletion(chat_id, message_id, by, self.now()))

    # ---------------------------------------------------------------- files
    def new_file(self, kind: str, size: int = 1024, sample: str | None = None) -> StoredFile:
        unique = secrets.token_hex(8)
        stored = StoredFile(
            f"{kind[:3].upper()}-{secrets.token_urlsafe(24)}", unique, kind, size, sample
        )
        self.files[stored.file_id] = stored
        return stored

    # ---------------------------------------------------------------- updates
    def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), kind: payload}
        self.updates.append(update)
        for listener in list(self.update_listeners):
            listener()
        return update

    def pending_updates(self, offset: int | None, limit: int) -> list[dict[str, Any]]:
        if offset is not None and offset > self.confirmed_offset:
            self.confirmed_offset = offset
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        return self.updates[:limit]

    # ---------------------------------------------------------------- faults
    def inject_fault(
        self,
        method: str,
        error_code: int,
        *,
        retry_after: int | None = None,
        count: int = 1,
        kind: str = "error",
        delay: float = 0.0,
    ) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        self.faults.append(Fault(method, error_code, retry_after, count, kind, delay))

    def take_fault(self, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.method in (method, "*") and fault.remaining > 0:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.faults.remove(fault)
                return fault
        return None

    # ---------------------------------------------------------------- rendering
    def render(self, message: Message, *, with_reply: bool = True) -> dict[str, Any]:
        chat = self.chats[message.chat_id]
        sender = self.users.get(message.sender_id)
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(message.date),
            "chat": chat.to_api(),
        }
        if sender is not None:
            data["from"] = sender.to_api()
        if message.thread_id is not None:
            data["message_thread_id"] = message.thread_id
            data["is_topic_message"] = True
        if message.text is not None:
            data["text"] = message.text
            if message.entities:
                data["entities"] = message.entities
        if message.caption is not None:
            data["caption"] = message.caption
            if message.caption_entities:
                data["caption_entities"] = message.caption_entities
        if message.media_kind and message.file_id:
            data[message.media_kind] = self._media_api(message.media_kind, message.file_id)
        if message.location is not None:
            data["location"] = message.location
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.forward_origin:
            data["forward_origin"] = message.forward_origin
        if message.protect_content:
            data["has_protected_content"] = True
        if message.edit_date is not None:
            data["edit_date"] = int(message.edit_date)
        if message.service:
            data.update(message.service)
        if with_reply and message.reply_to is not None:
            target = self.message(message.chat_id, message.reply_to)
            if target is not None:
                data["reply_to_message"] = self.render(target, with_reply=False)
        return data

    def _media_api(self, kind: str, file_id: str) -> Any:
        stored = self.files[file_id]
        base: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }
        if kind == "photo":
            return [{**base, "width": 800, "height": 600}]
        if kind == "document":
            return {
                **base,
                "file_name": stored.sample or "document.pdf",
                "mime_type": "application/pdf",
            }
        if kind in ("voice", "audio"):
            return {**base, "duration": 3}
        if kind in ("video", "animation"):
            return {**base, "width": 640, "height": 480, "duration": 3}
        if kind == "sticker":
            return {
                **base,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        return base
