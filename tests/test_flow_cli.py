"""``clgbt flow run``: stepping through a flow in the terminal, nothing stored."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from bot.cli import main
from bot.flow_cli import FlowRunner

DEFINITIONS = Path(__file__).resolve().parents[1] / "flows" / "definitions"


def lines(*typed: str) -> Callable[[], str]:
    queue = [f"{line}\n" for line in typed]
    return lambda: queue.pop(0) if queue else ""


def test_step_through_the_intake_in_khmer() -> None:
    out = io.StringIO()
    runner = FlowRunner(
        DEFINITIONS / "intake.yaml", "km", out=out, read_line=lines("1", "1", "hello", "/quit")
    )
    runner.run()
    screen = out.getvalue()
    assert "តើអ្នកយល់ព្រមឱ្យយើងកត់ត្រា" in screen
    assert "[1] បាទ/ចាស កត់ត្រាទុក" in screen
    assert "តើវាទាក់ទងនឹងអ្វី?" in screen and "[1] ការងារ" in screen
    assert "សូមជ្រើសរើសប៊ូតុងមួយខាងក្រោម" in screen, "text where buttons are expected"


def test_actions_are_shown_not_performed() -> None:
    out = io.StringIO()
    runner = FlowRunner(DEFINITIONS / "welcome.yaml", "km", out=out, read_line=lines("2", "/quit"))
    runner.run()
    assert "<action: set_language>" in out.getvalue()
    assert "Before we start" in out.getvalue(), "the language action switches the texts"


def test_a_broken_file_is_a_usage_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec_version: 7\n", encoding="utf-8")
    assert main(["flow", "run", str(broken)]) == 2
