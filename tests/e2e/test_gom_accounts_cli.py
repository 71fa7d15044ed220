"""`gomflow gom list` and `gomflow gom remove` as an operator runs them: real processes, a real file."""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.test_command_line import gomflow


def test_gom_list_and_remove_through_the_real_command_line(tmp_path: Path) -> None:
    env = dict(os.environ, GOMFLOW_DATABASE_URL=f"sqlite:///{tmp_path}/ops.db")
    empty = gomflow("gom", "list", cwd=tmp_path, env=env)
    assert empty.returncode == 0 and "There are no GOMs yet" in empty.stdout, empty.stderr
    for channel, external_id, name in (("telegram", "12345", "Gina"), ("email", "olga@example.com", "Olga")):
        added = gomflow("gom", "add", channel, external_id, name, cwd=tmp_path, env=env)
        assert added.returncode == 0, added.stderr

    listed = gomflow("gom", "list", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "Gina" in listed.stdout and "telegram:12345" in listed.stdout
    assert "Olga" in listed.stdout and "email:olga@example.com" in listed.stdout

    removed = gomflow("gom", "remove", "telegram", "12345", cwd=tmp_path, env=env)
    assert removed.returncode == 0 and "Gina (telegram:12345) no longer runs group orders" in removed.stdout
    after = gomflow("gom", "list", cwd=tmp_path, env=env).stdout
    assert "Gina" not in after and "Olga" in after

    again = gomflow("gom", "remove", "telegram", "12345", cwd=tmp_path, env=env)
    assert again.returncode == 1 and "Gina (telegram:12345) is not a GOM" in again.stderr
    unknown = gomflow("gom", "remove", "telegram", "999", cwd=tmp_path, env=env)
    assert (
        unknown.returncode == 1 and "nobody has written to gomflow as telegram:999" in unknown.stderr.lower()
    )
    bad = gomflow("gom", "remove", "pigeon", "1", cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    for result in (removed, again, unknown):
        assert "Traceback" not in result.stderr
