"""Set-up for a fresh machine that has only Python: ``python3 dev.py run`` / ``python3 dev.py test``.

Creates ``.venv`` on first use (and again when pyproject.toml changes), installs gomflow
into it, then runs the real command inside it. ``python3 dev.py messages`` brings the
translation catalogues up to date with the templates (see docs/languages.md).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed"


def digest(extras: str) -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()


def ensure_venv(extras: str) -> None:
    """Install unless this pyproject.toml is installed already with these extras (or more)."""
    installed = STAMP.read_text() if STAMP.exists() else ""
    if installed in {digest(extras), digest("[test]")}:
        return
    wanted = digest(extras)
    if not PYTHON.exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"installing gomflow{extras} into .venv …", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f".{extras}"], check=True, cwd=ROOT)
    STAMP.write_text(wanted)


def run(args: list[str]) -> None:
    ensure_venv("")
    os.chdir(ROOT)
    os.execv(PYTHON, [str(PYTHON), str(ROOT / "main.py"), "run", *args])


def test(args: list[str]) -> None:
    ensure_venv("[test]")
    os.chdir(ROOT)
    for step in (["-m", "ruff", "check", "."], ["-m", "ruff", "format", "--check", "."], ["-m", "mypy"]):
        subprocess.run([str(PYTHON), *step], check=True)
    # one test process per core unless told otherwise (``-n 0`` runs in this one)
    spread = [] if any(arg.startswith(("-n", "--numprocesses")) for arg in args) else ["-n", "auto"]
    os.execv(PYTHON, [str(PYTHON), "-m", "pytest", *spread, *args])


LOCALE = ROOT / "templates" / "locale"
TEMPLATE_POT = LOCALE / "messages.pot"


def messages(args: list[str]) -> None:
    """Extract the messages to translate, merge them into every language's catalogue (a
    new language gets one), then compile each in a scratch folder to check it and say how
    much is translated. gomflow itself compiles the ``.po`` files when it starts."""
    ensure_venv("[test]")
    os.chdir(ROOT)
    pybabel = [str(PYTHON), "-m", "babel.messages.frontend"]
    LOCALE.mkdir(exist_ok=True)
    extract = ["extract", "-F", "babel.cfg", "-o", str(TEMPLATE_POT), "--sort-by-file", "--no-wrap"]
    extract += ["--ignore-dirs", ".* __pycache__"]  # and not _shared, which pybabel skips by default
    errors = subprocess.run(
        [str(PYTHON), "-c", "from core.errors import message_keywords; print(*message_keywords())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for keyword in ["command:3", *errors]:  # the command table's summaries, the core's refusals
        extract += ["-k", keyword]
    subprocess.run([*pybabel, *extract, "--project=gomflow", "."], check=True)
    for language in args or sorted(p.name for p in LOCALE.iterdir() if p.is_dir()):
        catalogue = LOCALE / language / "LC_MESSAGES" / "messages.po"
        update = ["update", "--no-wrap", "--ignore-obsolete", "--no-fuzzy-matching"]
        merge = update if catalogue.is_file() else ["init"]
        where = ["-d", str(LOCALE), "-l", language]
        subprocess.run([*pybabel, *merge, "-i", str(TEMPLATE_POT), *where], check=True)
        with tempfile.TemporaryDirectory() as scratch:
            compiled = ["compile", "--statistics", "-i", str(catalogue), "-o", f"{scratch}/messages.mo"]
            subprocess.run([*pybabel, *compiled, "-l", language], check=True)


def main() -> None:
    commands = {"run": run, "test": test, "messages": messages}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(
            "usage: python3 dev.py run [--no-console] [--numbered] | python3 dev.py test [pytest args]"
            " | python3 dev.py messages [LANGUAGE ...]"
        )
    try:
        commands[sys.argv[1]](sys.argv[2:])
    except subprocess.CalledProcessError as failed:
        sys.exit(failed.returncode)


if __name__ == "__main__":
    main()
