"""The benchmark's throughput part runs end to end with tiny sizes (no timing is checked:
figures belong in ``bench/results.md``, never in a test)."""

from __future__ import annotations

from bench.flows import throughput
from bench.people import FULL_FLOW
from bench.report import Machine, Results, goal_rows, render


async def test_the_throughput_part_runs_and_counts_calls() -> None:
    result = await throughput(people=5, rounds=1)
    assert [r.kind for r in result.rounds] == ["clgbt", "echo"]
    assert result.updates_per_person == len(FULL_FLOW)
    for round_ in result.rounds:
        assert round_.failed == 0, f"{round_.kind}: every step answered"
        assert round_.updates == 5 * len(FULL_FLOW)
        assert round_.calls > 0 and round_.calls == sum(round_.calls_by_method.values())
        assert round_.calls_by_method.get("getUpdates", 0) > 0
        assert round_.calls_per_update > 0
        assert round_.seconds > 0 and round_.bot_cpu_seconds >= 0
    clgbt, echo = result.of("clgbt")[0], result.of("echo")[0]
    assert clgbt.calls_by_method.get("answerCallbackQuery", 0) > 0
    assert echo.calls_by_method.get("sendMessage", 0) == 5 * 2, "/start and the text answer"
    assert result.ratio > 0

    results = Results(mode="smoke", machine=Machine.now(), throughput=result)
    figures = [row.figure for row in goal_rows(results)]
    assert any("calls per update" in figure for figure in figures)
    text = render(results)
    assert "| full flows, saturated" in text
    if any(row.met is False for row in goal_rows(results)):
        assert "## What limits the missed figures" in text, "each miss is explained"
