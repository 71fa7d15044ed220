"""The command line as an operator uses it: real processes, a real port, a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gomflow(*args: str, cwd: Path, env: dict[str, str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,
    )  # type: ignore[call-overload]


async def spawn_gomflow_run(cwd: Path, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """A real ``gomflow run --no-console``, its log in a file (an unread pipe can stop it)."""
    with log.open("wb") as sink:  # the process keeps its own copy of the file
        return await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "main.py"),
            "run",
            "--no-console",
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=sink,
        )


def test_demo_plays_a_group_order_end_to_end(tmp_path: Path) -> None:
    result = gomflow("demo", cwd=tmp_path, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "drop: five fans order SVT-FML" in out
    assert out.count("✅ Order placed!") >= 3
    assert "SVT-FML is full" in out
    assert "You're #1 on the SVT-FML waitlist" in out
    assert "📨 to zoe: 🎉 A slot freed up" in out
    assert "now, before its deadline" in out and "Close it? /close SVT-FML confirm" in out
    assert "MOQ reached — the group order is confirmed" in out
    assert "MOQ not reached — the group order failed" in out
    assert "Traceback" not in out + result.stderr


def test_db_upgrade_and_gom_add_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    env = dict(os.environ, GOMFLOW_DATABASE_URL=f"sqlite:///{tmp_path}/ops.db")
    assert gomflow("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    added = gomflow("gom", "add", "telegram", "12345", "Gina", cwd=tmp_path, env=env)
    assert added.returncode == 0 and "Gina (telegram:12345) can now run group orders" in added.stdout
    bad = gomflow("gom", "add", "pigeon", "1", "x", cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def type_and_read(process: subprocess.Popen[str], typed: str, until: str, limit: float = 60) -> list[str]:
    """Type into a running console and read its answers up to the line holding ``until``,
    however long they take; if they never come, the process is stopped after a generous
    minute and the caller's assertions say what is missing."""
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(typed)
    process.stdin.flush()
    lines: list[str] = []
    give_up = threading.Timer(limit, process.terminate)
    give_up.start()
    try:
        for line in process.stdout:
            lines.append(line)
            if until in line:
                break
    finally:
        give_up.cancel()
    return lines


def run_with_console(cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """A real ``gomflow run`` reading the console from a pipe we type into."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "run"],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_run_serves_health_and_reads_the_console(tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ, GOMFLOW_HTTP_PORT=str(port), GOMFLOW_DATABASE_URL=f"sqlite:///{tmp_path}/run.db")
    process = run_with_console(tmp_path, env)
    lines: list[str] = []
    try:
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    body = json.loads(response.read())
            except OSError:
                time.sleep(0.2)
        assert body == {"status": "ok", "database": "ok"}
        lines = type_and_read(process, "/as buyer bob\n/browse\n", "No group orders are open right now.")
    finally:
        process.terminate()
        rest, err = process.communicate(timeout=30)
    out = "".join(lines) + rest
    assert "You are now bob (buyer)." in out
    assert "No group orders are open right now." in out
    assert (tmp_path / "run.db").exists()
    assert "Traceback" not in err
    assert process.returncode == 0, err  # SIGTERM stops it cleanly


def test_readme_run_command_serves_on_the_embedded_default(tmp_path: Path) -> None:
    """``python3 dev.py run`` as the README gives it (the venv already exists, so it starts at once)."""
    port = free_port()
    env = dict(
        os.environ, GOMFLOW_HTTP_PORT=str(port), GOMFLOW_DATABASE_URL=f"sqlite:///{tmp_path}/readme.db"
    )
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "dev.py"), "run", "--no-console"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and body is None and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    body = json.loads(response.read())
            except OSError:
                time.sleep(0.3)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert body == {"status": "ok", "database": "ok"}, err
    assert process.returncode == 0, err


def test_run_numbered_shows_buttons_as_numbered_replies(tmp_path: Path) -> None:
    """``gomflow run --numbered``: the console chat answers as SMS and WhatsApp do."""
    env = dict(
        os.environ, GOMFLOW_HTTP_PORT=str(free_port()), GOMFLOW_DATABASE_URL=f"sqlite:///{tmp_path}/run.db"
    )
    assert gomflow("gom", "add", "console", "gina", "Gina", cwd=tmp_path, env=env).returncode == 0
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "run", "--numbered"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        lines = type_and_read(process, "/as gom gina\n/newgo\nSVT-FML\nSeventeen FML\n1\n", "(4/7)")
    finally:
        process.terminate()
        rest, err = process.communicate(timeout=30)
    out = "".join(lines) + rest
    assert "Reply 1 for SGD" in out  # the currency question's buttons, as numbers
    assert "(4/7)" in out, out  # "1" picked the first: the next question came
    assert "Traceback" not in err
