"""The connection PTB uses for ``getUpdates``, made safe against an update it cannot parse.

PTB parses a batch of updates as a whole: one it cannot read fails the batch, and the next
poll asks for the same batch again, forever, so the bot stops answering everyone. Here a
broken update is replaced by an empty one with the same id: the offset moves on, the content
is dropped without being logged (it may hold personal data), and only the error type is
recorded."""

from __future__ import annotations

import json
from typing import Any

from telegram import Update
from telegram._utils.types import JSONDict, ODVInput
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.logs import EventLogger

_log = EventLogger("updates")


def skip_unparsable(result: list[JSONDict]) -> list[JSONDict]:
    cleaned: list[JSONDict] = []
    for raw in result:
        try:
            Update.de_json(raw, None)
        except Exception as exc:
            _log.error("update_unparsable", exc)
            update_id: Any = raw.get("update_id") if isinstance(raw, dict) else None
            if isinstance(update_id, int):
                cleaned.append({"update_id": update_id})
            continue
        cleaned.append(raw)
    return cleaned


class UpdatesRequest(HTTPXRequest):
    async def do_request(  # noqa: PLR0917 - the signature is PTB's
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, payload = await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        if code != 200 or not url.endswith("/getUpdates"):
            return code, payload
        try:
            body = json.loads(payload)
        except ValueError:
            return code, payload
        if isinstance(body, dict) and body.get("ok") and isinstance(body.get("result"), list):
            body["result"] = skip_unparsable(body["result"])
            return code, json.dumps(body).encode("utf-8")
        return code, payload
