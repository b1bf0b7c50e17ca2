"""The dependency direction of DESIGN.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "casework": {"telegram", "bot", "sandbox", "flows"},
    "flows": {"telegram", "bot", "sandbox"},
    "knowledge": {"telegram", "bot", "sandbox"},
    "storage": {"telegram", "bot", "sandbox", "flows", "knowledge"},
    "sandbox": {"bot", "flows", "knowledge", "storage"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_the_dependency_direction(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package} has no modules"
    for path in files:
        bad = imported_roots(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_no_code_forwards_messages() -> None:
    for package in ("bot", "flows", "storage"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert "forward_message" not in text and "forwardMessage" not in text, path


PRODUCTION = ("bot", "casework", "flows", "knowledge", "storage")
# The sandbox launcher is the one module of ``bot`` that wires the emulator to the bot; the CLI
# reaches it only from inside the sandbox commands (a function-level import).
SANDBOX_LAUNCHER = "bot/sandbox_run.py"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def top_level_imports(path: Path) -> set[str]:
    """Modules imported when ``path`` is imported (not those imported inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PRODUCTION
        for path in (ROOT / package).rglob("*.py")
    }


def test_production_code_does_not_import_the_sandbox() -> None:
    for package in PRODUCTION:
        for path in (ROOT / package).rglob("*.py"):
            if path.relative_to(ROOT).as_posix() == SANDBOX_LAUNCHER:
                continue
            bad = {n for n in top_level_imports(path) if n.split(".")[0] == "sandbox"}
            assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
            if path.relative_to(ROOT).as_posix() != "bot/cli.py":
                assert "bot.sandbox_run" not in top_level_imports(path), path
                assert "sandbox" not in imported_roots(path), path


def test_handlers_do_not_import_each_other() -> None:
    handlers = sorted((ROOT / "bot" / "handlers").glob("*.py"))
    assert len(handlers) > 2
    for path in handlers:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("bot.handlers"), (
                    f"{path.relative_to(ROOT)} imports {node.module}"
                )


def test_no_import_cycles() -> None:
    modules = project_modules()
    graph = {
        name: {m for m in top_level_imports(path) if m in modules and m != name}
        for name, path in modules.items()
    }
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in done:
            return
        assert name not in visiting, "import cycle: " + " -> ".join([*trail, name])
        visiting.add(name)
        for target in sorted(graph[name]):
            visit(target, [*trail, name])
        visiting.discard(name)
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_casework_does_no_telegram_io() -> None:
    for path in (ROOT / "casework").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "telegram" not in imported_roots(path), path
        assert "send_message" not in text and "copy_message" not in text, path
