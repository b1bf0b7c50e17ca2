"""The reliability soak (issue 11): 20 people and 3 counsellors exchange 1,000 messages through
the real bot in its own process, while the emulator answers with 429s, 5xx, slow answers and
dropped connections (before and after executing the call), the bot is SIGKILLed three times
and restarted, and the whole Bot API is down for 60 seconds. Every message must arrive, in
order, exactly once, except where a call was executed and its answer lost (dropped by the
emulator, or in flight when the process was killed). A queue alert that falls due during the
outage fires after it. A longer run of the same soak: ``python -m bench.soak``."""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

from storage.keyring import create_key_file
from tests.bot_process import BotProcess
from tests.conftest import Emulator
from tests.people import Person

# ``python -m bench soak`` runs this test longer through these variables.
PEOPLE = int(os.environ.get("CLGBT_SOAK_PEOPLE", "20"))
EACH_WAY = int(os.environ.get("CLGBT_SOAK_EACH_WAY", "25"))  # 20 x 25 x 2 = 1,000 messages
KILLS = int(os.environ.get("CLGBT_SOAK_KILLS", "3"))
OUTAGE_SECONDS = 60
# A call that arrived this long before a kill may have been executed with its answer lost to the
# kill: a second, plus the slowest answer the emulator is told to give (6 s).
IN_FLIGHT_WINDOW = 7.0


def soak_config(tmp_path: Path, emulator: Emulator, staff: dict[str, Any]) -> Path:
    create_key_file(tmp_path / "master.key")
    members = "".join(
        f'[[staff.members]]\nuser_id = {uid}\nrole = "{role}"\nalias = "{alias}"\n'
        for uid, role, alias in staff["members"]
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[telegram]\nbase_url = "{emulator.server.base_url}"\n'
        '[paths]\ndatabase = "clgbt.sqlite3"\nkey_file = "master.key"\n'
        "[storage]\nallow_clear_key_beside_database = true\n"
        "[sending]\noverall_per_second = 1000\ngroup_per_minute = 60000\n"
        "private_per_second = 1000\nprivate_burst = 1000\ngive_up_after_seconds = 600\n"
        "[safety]\nmessages_per_window = 1000\nwindow_seconds = 1\nbacklog = 1000\n"
        "[handoff]\nqueue_alert_minutes = 1\ncheck_seconds = 1\n"
        '[office_hours]\ndays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'
        'opens = "00:00"\ncloses = "23:59"\n'
        f"[staff]\ngroup_id = {staff['group']}\ncoordinator_chat_id = {staff['coordinators']}\n"
        f"{members}",
        encoding="utf-8",
    )
    return config


async def ask_for_counsellor(person: Person) -> str:
    await person.say("/start")
    await person.expect("Please choose a language", within=60)
    await person.choose("English", "Before we start", within=60)
    await person.choose("Continue", "What would you like to do?", within=60)
    await person.choose("Talk to a counsellor", "A counsellor can talk with you here", within=60)
    message = await person.choose("Yes, please", "Your case code is", within=60)
    text = str(message["text"])
    return text.split("Your case code is", 1)[1].split(maxsplit=1)[0].strip(".:<>b/")


def texts_with(messages: list[dict[str, Any]], prefix: str) -> list[str]:
    return [
        str(m.get("text"))
        for m in messages
        if str(m.get("text") or "").startswith(prefix) and not m.get("deleted")
    ]


def check_stream(received: list[str], expected: list[str], allowed_duplicates: int) -> int:
    """Everything arrived, first copies in order; returns the number of duplicates."""
    missing = sorted(set(expected) - set(received))
    assert not missing, f"missing: {missing}; received: {received}"
    first = list(dict.fromkeys(received))
    assert first == expected, "out of order"
    duplicates = len(received) - len(expected)
    assert duplicates <= allowed_duplicates, (
        f"{duplicates} duplicates, {allowed_duplicates} allowed"
    )
    return duplicates


@pytest.mark.soak
async def test_nothing_is_lost_under_faults_kills_and_an_outage(
    emulator: Emulator, tmp_path: Path
) -> None:
    client = emulator.client
    rng = random.Random(11)
    counsellors = [await client.add_user(f"Counsellor{n}", "Real", f"c{n}_real") for n in range(3)]
    coordinator = await client.add_user("Coordinator", "Real", "coord_real")
    group = await client.add_forum_group(
        "Staff", [int(u["id"]) for u in (*counsellors, coordinator)]
    )
    coordinators = await client.add_forum_group("Coordinators", [int(coordinator["id"])])
    staff = {
        "group": int(group["id"]),
        "coordinators": int(coordinators["id"]),
        "members": [
            *((int(c["id"]), "counsellor", f"C{n}") for n, c in enumerate(counsellors)),
            (int(coordinator["id"]), "coordinator", "Coord"),
        ],
    }
    bot = BotProcess(soak_config(tmp_path, emulator, staff), tmp_path / "bot.log")
    bot.start()
    try:
        people = [
            await Person.join(client, f"Person{n}", "Real", f"p{n}_real") for n in range(PEOPLE)
        ]
        late = await Person.join(client, "Late", "Real", "late_real")
        codes = await asyncio.gather(*(ask_for_counsellor(p) for p in people))
        topics = {
            str(t["name"]).split(" ")[0]: int(t["message_thread_id"])
            for t in await client.topics(staff["group"])
        }
        threads = [topics[code] for code in codes]
        for n, thread in enumerate(threads):
            counsellor = counsellors[n % 3]
            await client.send_text(
                int(counsellor["id"]), "/claim", chat_id=staff["group"], thread_id=thread
            )
        for n, person in enumerate(people):
            await person.expect(f"Counsellor C{n % 3} is here", within=60)

        kills: list[float] = []

        async def person_writes(n: int) -> None:
            for i in range(EACH_WAY):
                await client.send_text(people[n].id, f"P{n:02d}-{i:02d}")
                await asyncio.sleep(rng.uniform(0.0, 0.08))

        async def counsellor_writes(n: int) -> None:
            counsellor = counsellors[n % 3]
            for i in range(EACH_WAY):
                await client.send_text(
                    int(counsellor["id"]),
                    f"C{n:02d}-{i:02d}",
                    chat_id=staff["group"],
                    thread_id=threads[n],
                )
                await asyncio.sleep(rng.uniform(0.0, 0.08))

        async def chaos() -> None:
            faults = [
                ("copyMessage", {"error_code": 429, "retry_after": 1}),
                ("copyMessage", {"error_code": 502}),
                ("copyMessage", {"error_code": 500}),
                ("copyMessage", {"kind": "slow", "delay": 6.0}),
                ("copyMessage", {"kind": "drop_before"}),
                ("copyMessage", {"kind": "drop_after"}),
                ("getUpdates", {"kind": "drop_after"}),
                ("getUpdates", {"error_code": 502}),
                ("sendMessage", {"error_code": 502}),
            ]
            for round_ in range(KILLS):
                for _ in range(6):
                    method, options = rng.choice(faults)
                    await client.inject_fault(method, count=rng.randint(1, 3), **options)
                    await asyncio.sleep(rng.uniform(0.2, 0.6))
                kills.append(time.time())
                bot.kill()
                await asyncio.sleep(0.3 + round_ * 0.2)
                bot.start()

        # Newcomers go through the menus to a counsellor while the bot is being killed: every
        # screen they are owed comes (what a step decided is kept with it), none is lost.
        newcomers = [
            await Person.join(client, f"New{n}", "Real", f"new{n}_real") for n in range(3)
        ]

        async def newcomer(n: int) -> str:
            await asyncio.sleep(1.5 * n)
            return await ask_for_counsellor(newcomers[n])

        *_, newcomer_codes = await asyncio.gather(
            *(person_writes(n) for n in range(PEOPLE)),
            *(counsellor_writes(n) for n in range(PEOPLE)),
            chaos(),
            asyncio.gather(*(newcomer(n) for n in range(len(newcomers)))),
        )
        opened = {str(t["name"]).split(" ")[0] for t in await client.topics(staff["group"])}
        assert set(newcomer_codes) <= opened, "each newcomer's case has its topic"
        # One more person asks for a counsellor and is never claimed: their queue alert, due a
        # minute later, falls due during the outage, which starts ten seconds after they ask.
        late_code = await ask_for_counsellor(late)
        await asyncio.sleep(10)
        early = await client.messages(staff["coordinators"])
        assert not any(late_code in str(m.get("text")) for m in early), "alerted too early"
        await client.outage(OUTAGE_SECONDS)
        outage_ends = time.time() + OUTAGE_SECONDS
        for n in range(PEOPLE):
            await client.send_text(people[n].id, f"P{n:02d}-outage")
        await asyncio.sleep(OUTAGE_SECONDS)  # the outage is wall-clock time by definition
        alert = await client.wait_for_text(staff["coordinators"], late_code, within=60)
        assert "waited" in str(alert["text"]) or late_code in str(alert["text"])
        assert int(alert["date"]) >= int(outage_ends) - 1, "sent after the outage, not lost in it"
        for n in range(PEOPLE):
            await client.wait_for_text(
                staff["group"], f"P{n:02d}-outage", thread_id=threads[n], within=60
            )
        for n in range(PEOPLE):  # and the counsellors' last messages reach every phone
            last = f"C{n:02d}-{EACH_WAY - 1:02d}"
            await client.wait_for(
                people[n].id,
                lambda ms, last=last: last in texts_with(ms, last),
                within=60,
            )
        # When the backlog was through: the last message the bot sent or copied (the
        # emulator's log of calls), not when this test finished reading every chat.
        sent_after = [
            float(c["at"])
            for c in await client.calls()
            if c["method"] in ("copyMessage", "sendMessage") and float(c["at"]) >= outage_ends
        ]
        drained = max(sent_after, default=outage_ends) - outage_ends

        # Check every stream: person -> topic and counsellor -> person.
        lost = await client.answers_lost()
        calls = await client.calls("copyMessage")
        checked = duplicates = 0
        for n in range(PEOPLE):
            person_chat = people[n].id
            lost_here = sum(
                1
                for m, chat, _ in lost
                if m == "copyMessage" and chat in (person_chat, str(person_chat))
            )
            in_flight = sum(
                1
                for c in calls
                if str(c.get("chat_id")) == str(person_chat)
                and any(k - IN_FLIGHT_WINDOW <= float(c["at"]) <= k for k in kills)
            )
            received = texts_with(await client.messages(person_chat), f"C{n:02d}-")
            expected = [f"C{n:02d}-{i:02d}" for i in range(EACH_WAY)]
            duplicates += check_stream(received, expected, lost_here + in_flight)
            checked += len(expected)

            lost_topic = sum(
                1 for m, chat, _ in lost if m == "copyMessage" and str(chat) == str(staff["group"])
            )
            in_flight_topic = sum(
                1
                for c in calls
                if str(c.get("chat_id")) == str(staff["group"])
                and any(k - IN_FLIGHT_WINDOW <= float(c["at"]) <= k for k in kills)
            )
            topic = await client.messages(staff["group"], threads[n])
            received = texts_with(topic, f"P{n:02d}-")
            expected = [f"P{n:02d}-{i:02d}" for i in range(EACH_WAY)] + [f"P{n:02d}-outage"]
            duplicates += check_stream(received, expected, lost_topic + in_flight_topic)
            checked += len(expected)
        print(
            f"soak: {checked} messages checked across {PEOPLE} people and 3 counsellors, "
            f"{len(newcomers)} newcomers reached a counsellor through the menus; "
            f"{duplicates} duplicates (emulator dropped {len(lost)} answers after executing; "
            f"{KILLS} kills); backlog drained {drained:.1f} s after the outage"
        )
        assert checked >= 2 * PEOPLE * EACH_WAY
    finally:
        bot.kill()
    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert "Traceback" not in log
    assert "P00-00" not in log and "Person0" not in log
