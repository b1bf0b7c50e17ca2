"""Receiving updates by webhook: Telegram posts each update with the secret token in a header,
compared here in constant time before anything is read."""

from __future__ import annotations

import hmac
import json
import socket

import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import Update

from bot.logs import EventLogger
from bot.services import ClgbtApplication

_log = EventLogger("webhook")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


class _UpdateHandler(tornado.web.RequestHandler):
    def initialize(self, clgbt: ClgbtApplication, secret: str) -> None:
        self.clgbt = clgbt
        self.secret = secret.encode()

    def check_xsrf_cookie(self) -> None:  # Telegram is not a browser
        return

    async def post(self) -> None:
        supplied = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(supplied, self.secret):
            self.set_status(403)
            _log.warning("webhook_refused")
            return
        try:
            update = Update.de_json(json.loads(self.request.body), self.clgbt.bot)
        except Exception as exc:  # a broken update is dropped, never echoed
            _log.error("update_unparsable", exc)
            self.set_status(200)
            return
        if update is None:
            self.set_status(200)
            return
        # Stored before Telegram hears 200: a crash from here on loses nothing.
        fresh = await self.clgbt.services.store.inbox.add([(update.update_id, update.to_dict())])
        if update.update_id in fresh:
            await self.clgbt.update_queue.put(update)
        self.set_status(200)


class WebhookServer:
    def __init__(self, application: ClgbtApplication, secret: str, url_path: str) -> None:
        self.app = tornado.web.Application(
            [
                (
                    rf"/{url_path.strip('/')}",
                    _UpdateHandler,
                    {"clgbt": application, "secret": secret},
                )
            ],
            log_function=lambda handler: None,  # request lines could carry the path
        )
        self.server: tornado.httpserver.HTTPServer | None = None
        self.port = 0

    async def start(self, listen: str, port: int) -> None:
        sockets = tornado.netutil.bind_sockets(port, listen, family=socket.AF_INET)
        self.port = sockets[0].getsockname()[1]
        self.server = tornado.httpserver.HTTPServer(self.app)
        self.server.add_sockets(sockets)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            await self.server.close_all_connections()
            self.server = None
