"""The architecture rule, checked on the source: the core imports nothing from the edge.

``core`` imports from an allow-list: the standard library, SQLAlchemy, itself and a short
list of named libraries, some only in the one module that wraps them (a gateway SDK only
inside its gateway module), so a new dependency in core is a decision, not an accident.
Core's own modules import one another one way: no import circle. ``channels`` may not reach
up into ``bots`` or ``web``; ``bots`` may not reach sideways into ``channels``, ``web`` or
``scheduler``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EDGE_LIBRARIES = {"telegram", "discord", "twilio", "jinja2", "apscheduler", "aiohttp"}
RULES: dict[str, set[str]] = {
    "core": EDGE_LIBRARIES
    | {"bots", "channels", "scheduler", "web", "templates", "main", "platforms", "authz"},
    "channels": {"bots", "web", "platforms", "authz"},
    "bots": {"channels", "web", "scheduler", "platforms", "authz"},
}


# Third-party libraries core may import, each with the core modules allowed to (None: any).
CORE_ALLOWED: dict[str, frozenset[str] | None] = {
    "sqlalchemy": None,
    "segno": None,
    "phonenumbers": frozenset({"core/delivery/addresses.py"}),
    "alembic": frozenset({"core/db/migrate.py", "core/check.py"}),
    "stripe": frozenset({"core/payments/stripe_checkout.py"}),
    "zxingcpp": frozenset({"core/payments/qr_photo.py", "core/payments/reading/proof.py"}),
    "PIL": frozenset(
        {"core/payments/qr_photo.py", "core/privacy/images.py", "core/services/masterlist_image.py"}
    )
    | {f"core/payments/reading/{name}.py" for name in ("proof", "ocr", "forensics")},
    "rapidocr_onnxruntime": frozenset({"core/payments/reading/ocr.py"}),
    "cryptography": frozenset({"core/privacy/keys.py"}),
    "rapidfuzz": frozenset({"core/payments/statements/matching.py"}),
    "python_calamine": frozenset({"core/payments/statements/read.py"}),
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


def not_allowed_in_core(
    path: str, modules: list[tuple[int, str]], allowed: Mapping[str, frozenset[str] | None]
) -> list[tuple[int, str]]:
    """The imports of core module ``path`` that are neither stdlib, core, nor allowed there."""
    refused = []
    for line, module in modules:
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top in {"core", "__future__"}:
            continue
        modules_allowed = allowed.get(top, frozenset())
        if modules_allowed is None or path in modules_allowed:
            continue
        refused.append((line, module))
    return refused


def test_core_imports_only_the_standard_library_sqlalchemy_and_the_allowed_few() -> None:
    refused = [
        f"{path.relative_to(ROOT).as_posix()}:{line} imports {module}"
        for path in python_files("core")
        for line, module in not_allowed_in_core(
            path.relative_to(ROOT).as_posix(), imported_modules(path), CORE_ALLOWED
        )
    ]
    assert refused == []


def test_allow_list_refuses_unknown_libraries_and_sdks_outside_their_module() -> None:
    source = "import os\nimport sqlalchemy.orm\nimport stripe\nimport requests\nfrom core import money\n"
    modules = modules_in_source(source, "core.services")
    assert not_allowed_in_core("core/services/payments.py", modules, CORE_ALLOWED) == [
        (3, "stripe"),
        (4, "requests"),
    ]
    assert not_allowed_in_core("core/payments/stripe_checkout.py", modules, CORE_ALLOWED) == [(4, "requests")]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def core_graph() -> dict[str, set[str]]:
    """Core module -> the core modules it imports (at any depth, TYPE_CHECKING blocks too).

    ``from core.x import y`` counts as importing ``core.x.y`` when that is a module."""
    paths = {module_name(path): path for path in python_files("core")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join([*parts[: len(parts) - (node.level - 1)], *filter(None, [node.module])])
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in node.names)
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def cycle_in(graph: Mapping[str, set[str]]) -> list[str]:
    """One import circle in ``graph`` (first module repeated at the end), or [] if none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_core_modules_import_one_another_without_a_circle() -> None:
    graph = core_graph()
    assert {"core.uow", "core.desk", "core.inbound", "core.orders"} <= graph.keys()
    assert "core.desk" in graph["core.uow"]  # the graph sees TYPE_CHECKING imports
    assert cycle_in(graph) == []


def test_cycle_finder_finds_a_circle_and_passes_a_chain() -> None:
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
