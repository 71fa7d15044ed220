"""`gomflow run` in a terminal: a prompt to type at, and the scheduler's routine kept out of the chat."""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.test_command_line import free_port, run_with_console, type_and_read

TYPED = """/as gom gina
/newgo QUICK "Quick drop" currency=SGD moq=1 cap=5 deadline=+1m
/additem QUICK ALB 10 "Album"
/paymethods QUICK manual
/open QUICK
/as buyer bob
/order QUICK ALB 1
"""


def test_the_console_prompts_and_the_gom_hears_the_scheduler_without_its_routine_lines(
    tmp_path: Path,
) -> None:
    env = dict(
        os.environ,
        GOMFLOW_HTTP_PORT=str(free_port()),
        GOMFLOW_DATABASE_URL=f"sqlite:///{tmp_path}/run.db",
        GOMFLOW_TICK_SECONDS="0.5",
        GOMFLOW_LOG_LEVEL="INFO",
    )
    process = run_with_console(tmp_path, env)
    try:
        # bob's order reaches the MOQ: a scheduler tick finds it and the GOM is told here
        out = "".join(type_and_read(process, TYPED, "reached its MOQ", limit=240))
    finally:
        process.terminate()
        rest, err = process.communicate(timeout=60)
    out += rest
    assert "Order placed" in out
    assert "QUICK (Quick drop) reached its MOQ" in out, out[-2000:]
    assert "nobody> " in out and "gina> " in out and "bob> " in out  # who is typing, before each line
    assert "Running job" not in err and "executed successfully" not in err
    assert "Running job" not in out and "apscheduler" not in out
    assert "Traceback" not in err, [line for line in err.splitlines() if "ERROR" in line]
