"""The emulator's HTTP face on 127.0.0.1: the Bot API at ``/bot<token>/<method>`` (what PTB's
``base_url`` points at) and a control interface at ``/sandbox/...`` through which tests and the
terminal chat act as people and read what the bot did."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from sandbox import actions
from sandbox.errors import ApiError
from sandbox.methods import METHODS, decode_params
from sandbox.state import CallLog, TelegramState

MAX_POLL_SECONDS = 50.0
MAX_CHANGES_WAIT_SECONDS = 25.0
SAMPLES = Path(__file__).resolve().parent / "samples"
SAMPLE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".pdf": "application/pdf"}
# Control actions that only read: everything else may change what people see.
READ_ONLY = frozenset(
    {"messages", "history", "topics", "deletions", "calls", "answer", "profile", "world"}
)

ControlOperation = Callable[[TelegramState, dict[str, Any]], Any]


def _message_view(state: TelegramState, chat_id: int, thread_id: int | None) -> list[Any]:
    chat = state.chat(chat_id)
    if chat.is_forum and thread_id == 1:  # the General topic: messages outside any topic
        return [state.render(m) for m in state.visible(chat.id) if m.thread_id is None]
    return [state.render(m) for m in state.visible(chat.id, thread_id)]


def sample_names() -> list[str]:
    """The sample files people can send in the sandbox (photos and documents)."""
    return sorted(p.name for p in SAMPLES.iterdir() if p.suffix in SAMPLE_TYPES)


class _Base(tornado.web.RequestHandler):
    def initialize(self, server: EmulatorServer) -> None:
        self.server = server
        self.state = server.state

    def check_xsrf_cookie(self) -> None:  # the emulator serves programs, not browsers
        return

    def reply(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, ensure_ascii=False))


class BotApiHandler(_Base):
    """``POST|GET /bot<token>/<method>``."""

    async def get(self, token: str, method: str) -> None:
        await self.post(token, method)

    async def post(self, token: str, method: str) -> None:
        if token != self.state.token:
            self.reply({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
            return
        handler = METHODS.get(method.lower())
        if handler is None:
            self.reply({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
            return
        params = self._params()
        self.state.calls.append(CallLog(method, params.get("chat_id"), self.state.now()))
        if time.time() < self.state.outage_until:
            self.reply({"ok": False, "error_code": 502, "description": "Bad Gateway"}, 502)
            return
        fault = self.state.take_fault(method)
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            fault = None
        if fault is not None and fault.kind == "drop_before":
            self._drop()
            return
        dropping = fault is not None and fault.kind == "drop_after"
        if dropping:
            fault = None
        try:
            if fault is not None:
                if fault.error_code == 429:
                    after = fault.retry_after or 1
                    raise ApiError(
                        429, f"Too Many Requests: retry after {after}", retry_after=after
                    )
                raise ApiError(
                    fault.error_code,
                    "Bad Gateway" if fault.error_code == 502 else "Internal Server Error",
                )
            if method.lower() == "getupdates":
                await self.server.wait_for_updates(params)
            result = handler(self.state, params)
        except ApiError as exc:
            self.reply(exc.to_api(), exc.code)
            return
        if method.lower() != "getupdates":
            self.state.changed()
        if dropping:
            message_id = result.get("message_id") if isinstance(result, dict) else None
            self.state.answers_lost.append((method, params.get("chat_id"), message_id))
            self._drop()
            return
        self.reply({"ok": True, "result": result})

    def _drop(self) -> None:
        """Close the connection without an answer, as a network failure would."""
        connection = self.request.connection
        if connection is not None:
            connection.close()  # type: ignore[attr-defined]
        self._finished = True

    def _params(self) -> dict[str, Any]:
        raw: dict[str, str] = {}
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith("application/json") and self.request.body:
            body = json.loads(self.request.body)
            return dict(body) if isinstance(body, dict) else {}
        for source in (self.request.query_arguments, self.request.body_arguments):
            for key, values in source.items():
                raw[key] = values[-1].decode("utf-8")
        params = decode_params(raw)
        for key in self.request.files:
            params[f"__upload_{key}"] = True
        return params


class ControlHandler(_Base):
    """``/sandbox/<action>``: JSON in, JSON out. Errors use the Bot API's shape."""

    async def get(self, action: str) -> None:
        await self._dispatch(
            action, {k: v[-1].decode() for k, v in self.request.query_arguments.items()}
        )

    async def post(self, action: str) -> None:
        body = json.loads(self.request.body or b"{}")
        await self._dispatch(action, body if isinstance(body, dict) else {})

    async def _dispatch(self, action: str, body: dict[str, Any]) -> None:
        operation = self.server.control.get(action) or CONTROL.get(action)
        if operation is None:
            self.reply({"ok": False, "error_code": 404, "description": "unknown action"}, 404)
            return
        try:
            result = operation(self.state, body)
        except ApiError as exc:
            self.reply(exc.to_api(), exc.code)
            return
        except (KeyError, TypeError, ValueError) as exc:
            self.reply(
                {"ok": False, "error_code": 400, "description": f"bad request: {exc!r}"}, 400
            )
            return
        if action not in self.server.read_only:
            self.state.changed()
        self.reply({"ok": True, "result": result})


class ChangesHandler(_Base):
    """``GET /sandbox/changes?since=N``: answers with the state's version as soon as it is past
    ``N`` (or after a while, unchanged), so a page can update without reloading."""

    async def get(self) -> None:
        since = int(self.get_query_argument("since", "-1"))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_CHANGES_WAIT_SECONDS
        while self.state.version <= since and self.server.running:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            changed = asyncio.Event()
            self.state.change_listeners.append(changed.set)
            self.server.stop_listeners.append(changed.set)
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                break
            finally:
                self.state.change_listeners.remove(changed.set)
                self.server.stop_listeners.remove(changed.set)
        self.reply({"ok": True, "result": {"version": self.state.version}})


class FileHandler(_Base):
    """``GET /sandbox/file/<file_id>``: the bytes of a file sent from the sample files."""

    def get(self, file_id: str) -> None:
        stored = self.state.files.get(file_id)
        if stored is None or stored.sample is None or stored.sample not in sample_names():
            self.reply({"ok": False, "error_code": 404, "description": "no such file"}, 404)
            return
        path = SAMPLES / stored.sample
        self.set_header("Content-Type", SAMPLE_TYPES[path.suffix])
        self.set_header("Cache-Control", "max-age=3600")
        self.finish(path.read_bytes())


def _opt_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    return None if value in (None, "") else int(value)


def _user(state: TelegramState, body: dict[str, Any]) -> Any:
    user = state.add_user(
        body.get("first_name", "Person"),
        body.get("last_name", ""),
        body.get("username", ""),
        body.get("language_code", "en"),
    )
    return user.to_api()


def _group(state: TelegramState, body: dict[str, Any]) -> Any:
    chat = state.add_forum_group(
        body.get("title", "Staff"),
        [int(u) for u in body.get("members", [])],
        [int(u) for u in body.get("admins", [])],
        forum=bool(body.get("forum", True)),
    )
    return chat.to_api()


def _media(state: TelegramState, b: dict[str, Any]) -> Any:
    sample = b.get("sample")
    if sample is not None and str(sample) not in sample_names():
        raise ApiError(400, f"Bad Request: no sample file {sample}")
    return actions.send_media(
        state,
        int(b["user_id"]),
        str(b["kind"]),
        caption=b.get("caption"),
        chat_id=_opt_int(b, "chat_id"),
        thread_id=_opt_int(b, "thread_id"),
        reply_to=_opt_int(b, "reply_to"),
        sample=None if sample is None else str(sample),
    )


def _messages(state: TelegramState, body: dict[str, Any]) -> Any:
    return _message_view(state, int(body["chat_id"]), _opt_int(body, "thread_id"))


def _all_messages(state: TelegramState, body: dict[str, Any]) -> Any:
    """Every message ever stored in a chat, deleted ones included, for audits in tests."""
    chat_id = int(body["chat_id"])
    return [
        {**state.render(m), "deleted": m.deleted}
        for m in sorted(state.messages.get(chat_id, {}).values(), key=lambda m: m.message_id)
    ]


def _topics(state: TelegramState, body: dict[str, Any]) -> Any:
    chat = state.chat(body["chat_id"])
    topics = []
    for t in chat.topics.values():
        messages = state.visible(chat.id, t.thread_id)
        last = messages[-1] if messages else None
        topics.append(
            {
                "message_thread_id": t.thread_id,
                "name": t.name,
                "closed": t.closed,
                "icon_color": t.icon_color,
                "message_count": len(messages),
                "last_message_id": last.message_id if last else t.thread_id,
                "last_date": int(last.date) if last else 0,
                "last_text": (last.text or last.caption or "") if last else "",
            }
        )
    return topics


def _raw_update(state: TelegramState, body: dict[str, Any]) -> Any:
    """Queue an update exactly as given, even a malformed one (to test the error path)."""
    return state.push_update(str(body["kind"]), dict(body["payload"]))["update_id"]


def _topic_by_hand(state: TelegramState, body: dict[str, Any]) -> Any:
    """An administrator closes or deletes a forum topic in the Telegram app."""
    chat = state.chat(body["chat_id"])
    thread_id = int(body["thread_id"])
    topic = chat.topics.get(thread_id)
    if topic is None:
        raise ApiError(400, "Bad Request: message thread not found")
    if body.get("what") == "delete":
        for message in state.visible(chat.id, thread_id):
            state.delete(chat.id, message.message_id, "admin")
        del chat.topics[thread_id]
    else:
        topic.closed = True
    return True


def _deletions(state: TelegramState, body: dict[str, Any]) -> Any:
    chat_id = _opt_int(body, "chat_id")
    return [
        {"chat_id": d.chat_id, "message_id": d.message_id, "by": d.by}
        for d in state.deletions
        if chat_id is None or d.chat_id == chat_id
    ]


def _calls(state: TelegramState, body: dict[str, Any]) -> Any:
    method = body.get("method")
    return [
        {"method": c.method, "chat_id": c.chat_id, "at": c.at}
        for c in state.calls
        if method is None or c.method.lower() == str(method).lower()
    ]


def _fault(state: TelegramState, body: dict[str, Any]) -> Any:
    state.inject_fault(
        str(body["method"]),
        int(body.get("error_code", 0)),
        retry_after=_opt_int(body, "retry_after"),
        count=int(body.get("count", 1)),
        kind=str(body.get("kind", "error")),
        delay=float(body.get("delay", 0)),
    )
    return True


def _outage(state: TelegramState, body: dict[str, Any]) -> Any:
    """Every Bot API call fails (502) for ``seconds`` of wall-clock time from now."""
    state.outage_until = time.time() + float(body["seconds"])
    return True


def _answers_lost(state: TelegramState, body: dict[str, Any]) -> Any:
    return [list(entry) for entry in state.answers_lost]


def _clock(state: TelegramState, body: dict[str, Any]) -> Any:
    state.advance(float(body.get("advance_seconds", 0)))
    return state.now()


def _answer(state: TelegramState, body: dict[str, Any]) -> Any:
    query = state.callback_queries.get(str(body["query_id"]))
    return None if query is None else query.get("answer")


def _profile(state: TelegramState, body: dict[str, Any]) -> Any:
    return {"profile": state.profile, "commands": state.commands}


CONTROL: dict[str, Callable[[TelegramState, dict[str, Any]], Any]] = {
    "users": _user,
    "groups": _group,
    "send": lambda s, b: actions.send_text(
        s,
        int(b["user_id"]),
        str(b["text"]),
        chat_id=_opt_int(b, "chat_id"),
        thread_id=_opt_int(b, "thread_id"),
        reply_to=_opt_int(b, "reply_to"),
    ),
    "media": _media,
    "location": lambda s, b: actions.send_location(
        s,
        int(b["user_id"]),
        float(b["latitude"]),
        float(b["longitude"]),
        chat_id=_opt_int(b, "chat_id"),
        thread_id=_opt_int(b, "thread_id"),
    ),
    "edit": lambda s, b: actions.edit_text(
        s, int(b["user_id"]), int(b["message_id"]), str(b["text"]), chat_id=_opt_int(b, "chat_id")
    ),
    "press": lambda s, b: actions.press(
        s,
        int(b["user_id"]),
        str(b["label"]),
        chat_id=_opt_int(b, "chat_id"),
        message_id=_opt_int(b, "message_id"),
    ),
    "press_forged": lambda s, b: actions.press_forged(
        s, int(b["user_id"]), int(b["message_id"]), str(b["data"]), chat_id=_opt_int(b, "chat_id")
    ),
    "messages": _messages,
    "history": _all_messages,
    "topics": _topics,
    "topic_by_hand": _topic_by_hand,
    "raw_update": _raw_update,
    "deletions": _deletions,
    "calls": _calls,
    "fault": _fault,
    "outage": _outage,
    "answers_lost": _answers_lost,
    "clock": _clock,
    "answer": _answer,
    "profile": _profile,
    "world": lambda s, b: {**s.world, "samples": sample_names()},
}


class EmulatorServer:
    """Serves one :class:`TelegramState` over HTTP on 127.0.0.1."""

    def __init__(
        self,
        state: TelegramState,
        *,
        control: dict[str, ControlOperation] | None = None,
        read_only: frozenset[str] = frozenset(),
        routes: list[Any] | None = None,
    ) -> None:
        """``control`` adds actions to the control interface; ``routes`` adds Tornado
        routes (the training page)."""
        self.state = state
        self.port = 0
        self.control: dict[str, ControlOperation] = dict(control or {})
        self.read_only = READ_ONLY | read_only
        self.routes: list[Any] = list(routes or [])
        self.stop_listeners: list[Callable[[], None]] = []
        self._server: tornado.httpserver.HTTPServer | None = None
        self._new_update = asyncio.Event()
        state.update_listeners.append(self._new_update.set)

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        """The value for PTB's ``base_url`` (the token is appended by PTB)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sandbox"

    async def start(self, port: int = 0) -> None:
        app = tornado.web.Application(
            [
                (r"/bot([^/]+)/([A-Za-z]+)", BotApiHandler, {"server": self}),
                (r"/sandbox/changes", ChangesHandler, {"server": self}),
                (r"/sandbox/file/([A-Za-z0-9_-]+)", FileHandler, {"server": self}),
                (r"/sandbox/([a-z_]+)", ControlHandler, {"server": self}),
                *self.routes,
            ],
            # Tornado's access log would print request paths, and the path holds the token.
            log_function=lambda handler: None,
        )
        sockets = tornado.netutil.bind_sockets(port, "127.0.0.1", family=socket.AF_INET)
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        server = self._server
        if server is not None:
            server.stop()
            self._server = None
            self._new_update.set()
            for listener in list(self.stop_listeners):
                listener()
            await server.close_all_connections()

    async def wait_for_updates(self, params: dict[str, Any]) -> None:
        """Long polling: hold ``getUpdates`` until an update is queued or the timeout ends."""
        timeout = min(float(params.get("timeout") or 0), MAX_POLL_SECONDS)
        offset = params.get("offset")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._server is not None:
            pending = [
                u for u in self.state.updates if offset is None or u["update_id"] >= int(offset)
            ]
            remaining = deadline - loop.time()
            if pending or remaining <= 0:
                return
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), remaining)
            except TimeoutError:
                return
