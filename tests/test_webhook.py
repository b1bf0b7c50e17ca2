"""Webhook mode: the secret token is checked (in constant time) before an update is read."""

from __future__ import annotations

import json

import httpx

from bot.webhook import SECRET_HEADER, WebhookServer
from tests.conftest import RunningBot
from tests.people import Person

SECRET = "a-webhook-secret-of-enough-length"


async def test_only_updates_with_the_secret_are_handled(running_bot: RunningBot) -> None:
    application = running_bot.application
    server = WebhookServer(application, SECRET, "telegram")
    await server.start("127.0.0.1", 0)
    person = await Person.join(running_bot.client, "Rith", "Sam", "rith_s")
    update = {
        "update_id": 990001,
        "message": {
            "message_id": 1,
            "date": 0,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            "from": {"id": person.id, "is_bot": False, "first_name": "Rith"},
            "chat": {"id": person.id, "type": "private", "first_name": "Rith"},
        },
    }
    url = f"http://127.0.0.1:{server.port}/telegram"
    try:
        async with httpx.AsyncClient() as client:
            refused = await client.post(
                url, content=json.dumps(update), headers={SECRET_HEADER: "wrong"}
            )
            missing = await client.post(url, content=json.dumps(update))
            assert (refused.status_code, missing.status_code) == (403, 403)
            broken = await client.post(url, content=b"{not json", headers={SECRET_HEADER: SECRET})
            assert broken.status_code == 200, "a broken update is dropped, not retried"
            accepted = await client.post(
                url, content=json.dumps(update), headers={SECRET_HEADER: SECRET}
            )
            assert accepted.status_code == 200
        await person.expect("Please choose a language")
        greetings = [
            m for m in await person.messages() if "choose a language" in str(m.get("text"))
        ]
        assert len(greetings) == 1, "the refused posts were not handled"
    finally:
        await server.stop()
