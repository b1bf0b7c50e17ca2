"""Training scenarios: every shipped file loads and names real buttons, bad files are refused
with the file and key named, and a scenario run end to end against the real bot ends in its
checklist."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import Settings
from bot.sandbox_run import sandbox_session
from knowledge.catalogue import TextCatalogue
from sandbox.training import (
    Activity,
    ScenarioError,
    evaluate,
    load_scenario,
    load_scenarios,
    scenario_problems,
)
from tests.conftest import FAST_SENDING

REQUIRED = {"police_id_card", "family_marriage", "crisis_at_night", "fired_trans", "quick_exit"}


def test_every_shipped_scenario_loads_in_both_languages() -> None:
    scenarios = load_scenarios()
    assert set(scenarios) >= REQUIRED
    for scenario in scenarios.values():
        assert scenario.translation["km"] in ("awaiting native review", "reviewed")
        for texts in (scenario.title, scenario.brief):
            assert texts["en"] and texts["km"]
            assert any("\u1780" <= c <= "\u17ff" for c in texts["km"]), scenario.id
        for step in scenario.script:
            if step.kind == "say":
                assert step.value["en"] and step.value["km"]
        assert scenario.checklist
    assert scenarios["crisis_at_night"].night
    kinds = {check.kind for s in scenarios.values() for check in s.checklist}
    assert {"claimed_within", "no_personal_data", "referral_with_consent"} <= kinds
    assert "closed_with_outcome" in kinds and "silent_after_exit" in kinds


def test_every_button_a_script_presses_exists_in_the_bot() -> None:
    catalogue = TextCatalogue.load()
    assert scenario_problems(load_scenarios(), catalogue.has) == []
    assert scenario_problems(load_scenarios(), lambda key: key != "main.counsellor")


GOOD: dict[str, Any] = {
    "title": {"en": "T", "km": "ត"},
    "brief": {"en": "B", "km": "ប"},
    "translation": {"km": "awaiting native review"},
    "script": [{"start": True}, {"wait": "claim"}],
    "checklist": [{"claimed_within": 5}],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": {"en": "only English"}}, "title: missing the km text"),
        ({"translation": {}}, "translation.km"),
        ({"script": [{"dance": True}]}, "script[0]: unknown step 'dance'"),
        ({"script": [{"wait": "coffee"}]}, "script[0].wait: expected one of"),
        ({"script": [{"press": "Talk to a counsellor"}]}, "expected a UI string key"),
        ({"script": [{"send": {"kind": "photo", "sample": "nope.png"}}]}, "no sample file"),
        ({"checklist": [{"closed_with_outcome": ["happy"]}]}, "closed_with_outcome"),
        ({"checklist": [{"be_nice": True}]}, "checklist[0]: unknown check"),
        ({"checklist": [{"claimed_within": 0}]}, "expected a number of minutes"),
        ({"colour": "blue"}, "unknown key 'colour'"),
    ],
)
def test_bad_scenarios_are_refused_naming_file_and_key(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump({**GOOD, **change}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert str(raised.value).startswith("broken.yaml: ") and message in str(raised.value)


def test_the_checklist_reads_what_the_trainee_did() -> None:
    scenario = load_scenarios()["quick_exit"]
    done = Activity(
        thread_id=5,
        opened_at=1000.0,
        claims=[(1000.0 + 11 * 60, "Dara")],
        notes=[],
        closes=[(2000.0, "resolved")],
        staff_plain=[(1500.0, "Are you safe?"), (1900.0, "Hello? Please answer")],
        reached_person=[(1500.0, "What is your phone number?")],
    )
    results = {r.kind: r for r in evaluate(scenario, done, "en", exit_at=1800.0)}
    assert not results["claimed_within"].passed and "11.0 min" in results["claimed_within"].detail
    assert not results["no_personal_data"].passed
    assert "phone number" in results["no_personal_data"].detail
    assert not results["silent_after_exit"].passed
    assert not results["note_written"].passed
    assert not results["closed_with_outcome"].passed and "resolved" in (
        results["closed_with_outcome"].detail
    )
    khmer = evaluate(scenario, done, "km", exit_at=1800.0)
    assert any("\u1780" <= c <= "\u17ff" for c in khmer[0].label)


async def test_a_scenario_runs_to_its_checklist_against_the_real_bot() -> None:
    settings = replace(Settings(), sending=FAST_SENDING)
    async with sandbox_session(settings) as session:
        client, world = session.client, session.world
        dara = world.member("Dara")
        assert dara is not None
        run = await session.training.start("quick_exit", "en")

        async def until(predicate: Any, within: float = 20.0) -> None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + within
            while not predicate():
                assert loop.time() < deadline, run.to_api()
                await asyncio.sleep(0.05)

        await until(lambda: run.status == "waiting: claim" and run.activity().thread_id)
        thread = run.activity().thread_id
        assert thread is not None
        group = world.staff_group_id
        await client.wait_for_text(group, "share this phone with my mother", thread_id=thread)
        await client.send_text(dara.user_id, "/claim", chat_id=group, thread_id=thread)
        await until(lambda: run.status == "waiting: reply")
        await client.send_text(
            dara.user_id,
            "I am here. You can delete this chat any time with Quick exit.",
            chat_id=group,
            thread_id=thread,
        )
        await client.wait_for_text(group, "The person left with Quick exit", thread_id=thread)
        await until(lambda: run.status == "done")
        await client.send_text(
            dara.user_id, "/note Left mid-chat; shared phone", chat_id=group, thread_id=thread
        )
        await client.wait_for_text(group, "Note saved", thread_id=thread)
        await client.send_text(
            dara.user_id, "/close client_withdrew", chat_id=group, thread_id=thread
        )
        await client.wait_for_text(group, "Closed by Dara", thread_id=thread)
        report = run.to_api()
        assert [item["passed"] for item in report["checklist"]] == [True] * 5, report
        assert report["checklist"][0]["detail"].startswith("claimed by Dara after")
        status = await client._call("training_status")
        assert status["checklist"] == report["checklist"]
