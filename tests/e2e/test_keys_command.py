"""``gomflow keys rotate`` from the command line, on the key file a first run generated."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from core.privacy.keys import key_id_of, read_key_file
from tests.e2e.test_command_line import gomflow


def test_keys_rotate_adds_a_key_to_the_file_and_seals_everything_under_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOMFLOW_DATA_KEY")}
    env["GOMFLOW_DATABASE_URL"] = f"sqlite:///{tmp_path}/ops.db"
    added = gomflow("gom", "add", "sms", "+6591234567", "Gina", cwd=tmp_path, env=env)
    assert added.returncode == 0, added.stderr
    assert "generated a data key" in added.stderr and "6591234567" not in added.stderr
    key_file = tmp_path / "ops.db.keys"
    first = read_key_file(key_file)

    rotated = gomflow("keys", "rotate", "--batch", "1", cwd=tmp_path, env=env)
    assert rotated.returncode == 0, rotated.stderr
    ring = read_key_file(key_file)
    assert set(ring.keys) == {*first.keys, ring.current} and ring.current != first.current
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert f"added data key {ring.current}" in rotated.stdout
    assert "identities: 1 values sealed again" in rotated.stdout
    with sqlite3.connect(tmp_path / "ops.db") as db:
        (sealed,) = db.execute("SELECT address FROM identities").fetchone()
    assert key_id_of(sealed) == ring.current and "6591234567" not in sealed

    again = gomflow("gom", "add", "sms", "+65 9123 4567", "Gina", cwd=tmp_path, env=env)
    assert again.returncode == 0 and "can now run group orders" in again.stdout
    with sqlite3.connect(tmp_path / "ops.db") as db:
        assert db.execute("SELECT count(*) FROM identities").fetchone() == (1,)  # the same person
