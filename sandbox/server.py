"""The emulator's HTTP face on 127.0.0.1: the Bot API at ``/bot<token>/<method>`` (what PTB's
``base_url`` points at) and a control interface at ``/sandbox/...`` through which tests and the
terminal chat act as people and read what the bot did."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from sandbox import actions
from sandbox.errors import ApiError
from sandbox.methods import METHODS, decode_params
from sandbox.state import CallLog, TelegramState

MAX_POLL_SECONDS = 50.0


def _message_view(state: TelegramState, chat_id: int, thread_id: int | None) -> list[Any]:
    return [state.render(m) for m in state.visible(chat_id, thread_id)]


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
        fault = self.state.take_fault(method)
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
        self.reply({"ok": True, "result": result})

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
        operation = CONTROL.get(action)
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
        self.reply({"ok": True, "result": result})


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
    )
    return chat.to_api()


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
    return [
        {"message_thread_id": t.thread_id, "name": t.name, "closed": t.closed}
        for t in chat.topics.values()
    ]


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
        {"method": c.method, "chat_id": c.chat_id}
        for c in state.calls
        if method is None or c.method.lower() == str(method).lower()
    ]


def _fault(state: TelegramState, body: dict[str, Any]) -> Any:
    state.inject_fault(
        str(body["method"]),
        int(body["error_code"]),
        retry_after=_opt_int(body, "retry_after"),
        count=int(body.get("count", 1)),
    )
    return True


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
    "media": lambda s, b: actions.send_media(
        s,
        int(b["user_id"]),
        str(b["kind"]),
        caption=b.get("caption"),
        chat_id=_opt_int(b, "chat_id"),
        thread_id=_opt_int(b, "thread_id"),
        reply_to=_opt_int(b, "reply_to"),
    ),
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
    "clock": _clock,
    "answer": _answer,
    "profile": _profile,
}


class EmulatorServer:
    """Serves one :class:`TelegramState` over HTTP on 127.0.0.1."""

    def __init__(self, state: TelegramState) -> None:
        self.state = state
        self.port = 0
        self._server: tornado.httpserver.HTTPServer | None = None
        self._new_update = asyncio.Event()
        state.update_listeners.append(self._new_update.set)

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
                (r"/sandbox/([a-z_]+)", ControlHandler, {"server": self}),
            ],
            # Tornado's access log would print request paths, and the path holds the token.
            log_function=lambda handler: None,
        )
        sockets = tornado.netutil.bind_sockets(port, "127.0.0.1", family=socket.AF_INET)
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._new_update.set()
            await self._server.close_all_connections()
            self._server = None

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
