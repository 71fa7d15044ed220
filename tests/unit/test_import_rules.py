"""The architecture rule, checked on the source: the core imports nothing from the edge.

``core`` may not import chat SDKs, the template engine, the scheduler, the web stack or any
adapter package; ``channels`` may not reach up into ``bots`` or ``web``; ``bots`` may not
reach sideways into ``channels``, ``web`` or ``scheduler``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EDGE_LIBRARIES = {"telegram", "discord", "twilio", "jinja2", "apscheduler", "aiohttp"}
RULES: dict[str, set[str]] = {
    "core": EDGE_LIBRARIES | {"bots", "channels", "scheduler", "web", "templates", "main", "platforms"},
    "channels": {"bots", "web", "platforms"},
    "bots": {"channels", "web", "scheduler", "platforms"},
}


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import in the file at ``path``."""
    package = ".".join(path.relative_to(ROOT).parts[:-1])
    return modules_in_source(path.read_text(encoding="utf-8"), package)


def modules_in_source(source: str, package: str) -> list[tuple[int, str]]:
    """Imports at any depth (also inside functions), relative ones resolved against ``package``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                found.append((node.lineno, ".".join([*base, *filter(None, [node.module])])))
            else:
                found.append((node.lineno, node.module or ""))
        elif isinstance(node, ast.Call) and _dynamic_import_target(node):
            found.append((node.lineno, _dynamic_import_target(node)))
    return sorted(found)


def _dynamic_import_target(call: ast.Call) -> str:
    """The module named by ``importlib.import_module("x")`` or ``__import__("x")``, else ''."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name not in {"import_module", "__import__"} or not call.args:
        return ""
    first = call.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else ""


def forbidden_among(modules: list[tuple[int, str]], forbidden: set[str]) -> list[tuple[int, str]]:
    """The imports whose top-level package is forbidden (``bots.chat`` counts as ``bots``)."""
    return [(line, module) for line, module in modules if module.split(".")[0] in forbidden]


def violations(package: str, forbidden: set[str]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in python_files(package)
        for line, module in forbidden_among(imported_modules(path), forbidden)
    ]


@pytest.mark.parametrize("package", sorted(RULES))
def test_package_is_present_with_python_files(package: str) -> None:
    assert len(python_files(package)) >= 2, f"no sources found under {ROOT / package}"


@pytest.mark.parametrize(("package", "forbidden"), sorted(RULES.items()))
def test_package_does_not_import_the_layers_it_must_not_know(package: str, forbidden: set[str]) -> None:
    assert violations(package, forbidden) == []


def test_core_sources_are_all_checked() -> None:
    checked = {p.relative_to(ROOT).as_posix() for p in python_files("core")}
    assert {"core/status.py", "core/when.py", "core/quantities.py"} <= checked
    assert any(p.startswith("core/services/") for p in checked)


def test_import_scanner_sees_what_core_really_imports() -> None:
    modules = {m for _, m in imported_modules(ROOT / "core" / "when.py")}
    assert {"zoneinfo", "core.errors", "re"} <= modules


def test_import_scanner_catches_every_way_of_importing() -> None:
    # The scanner is the whole test; prove it would see a violation written in any form.
    source = (
        "import os\n"
        "import telegram.ext as tg\n"
        "from jinja2 import Environment\n"
        "from . import sibling\n"
        "from ..errors import InvalidInput\n"
        "def later():\n"
        "    import aiohttp\n"
        "    from bots.chat import ChatReply\n"
        "    importlib.import_module('web.app')\n"
        "    __import__('scheduler')\n"
    )
    assert [m for _, m in modules_in_source(source, "core.services")] == [
        "os",
        "telegram.ext",
        "jinja2",
        "core.services",
        "core.errors",
        "aiohttp",
        "bots.chat",
        "web.app",
        "scheduler",
    ]


def test_rule_flags_edge_imports_but_not_lookalike_names() -> None:
    source = (
        "import core.status\n"
        "import webcolors\n"
        "from botsy import x\n"
        "from channels_util import y\n"
        "from channels.base import Channel\n"
        "import jinja2.sandbox\n"
    )
    assert forbidden_among(modules_in_source(source, "core"), RULES["core"]) == [
        (5, "channels.base"),
        (6, "jinja2.sandbox"),
    ]
