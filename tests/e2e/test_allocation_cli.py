"""gomflow verify-allocation on the command line: an export file checked with no database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from core import allocation as algo
from core.config import Settings
from main import parser, verify_allocation


def test_the_command_line_checks_an_export_file_with_no_database(tmp_path: Path) -> None:
    case = algo.AllocationInputs(
        "SVT-FML",
        "ALB",
        algo.LOTTERY,
        algo.commitment("SVT-FML", "s33d"),
        (algo.Inclusion(1, "Mingyu PC", 1), algo.Inclusion(2, "Wonwoo PC", 1)),
        tuple(algo.Claim(f"SVT-FML-{n}#1", "2026-11-20T12:00:00Z", (1,)) for n in (1, 2, 3)),
    )
    result = algo.result_json(algo.allocate(case, "s33d"))
    export = {"algorithm": algo.ALGORITHM, "inputs": case.as_json(), "seed": "s33d", "result": result}
    file = tmp_path / "allocation.json"
    root = Path(__file__).resolve().parents[2]

    def verify(*extra: str) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            str(root / "main.py"),
            "verify-allocation",
            "SVT-FML",
            "ALB",
            "--inputs",
            str(file),
        ]
        env = {**os.environ, "GOMFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"}
        return subprocess.run(
            [*command, *extra], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
        )

    file.write_text(json.dumps(export))
    args = parser().parse_args(["verify-allocation", "SVT-FML", "ALB", "--inputs", str(file)])
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'none.db'}")
    assert asyncio.run(verify_allocation(settings, args.code, args.item, args.seed, args.inputs)) == 0
    result[0]["inclusion"] = 2 if result[0]["inclusion"] != 2 else 1
    file.write_text(json.dumps(export))
    tampered = verify()  # the real command line, once: exit 1 with the reasons
    assert tampered.returncode == 1 and "does NOT match" in tampered.stdout, tampered
    assert "SVT-FML-1#1" in tampered.stdout
    file.write_text("{not json")
    assert asyncio.run(verify_allocation(settings, "SVT-FML", "ALB", None, file)) == 2
    assert not (tmp_path / "none.db").exists()
