"""The data keys: sealing, the key id in every value, the key file, the blind index."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path
from typing import Any

import pytest

from core.privacy.keys import (
    DataKeyError,
    format_entry,
    key_id_of,
    new_key,
    parse_ring,
    ring_from_config,
    ring_of,
)
from core.privacy.setup import key_file_for, load_keyring


def test_a_value_opens_only_in_its_own_column_and_names_its_key() -> None:
    ring = ring_of([new_key()], None)
    sealed = ring.seal_text("+6591234567", "addresses.phone")
    assert "6591234567" not in sealed and key_id_of(sealed) == ring.current
    assert ring.open_text(sealed, "addresses.phone") == "+6591234567"
    with pytest.raises(DataKeyError):
        ring.open_text(sealed, "addresses.line1")
    assert ring.seal_text("same", "x") != ring.seal_text("same", "x")  # a fresh nonce each time


def test_a_ring_of_two_reads_old_values_and_seals_with_the_newest() -> None:
    old, new = new_key(), new_key()
    before = ring_of([old], None)
    sealed_before = before.seal(b"\x89PNG image", "payment_proofs.image")
    after = ring_of([new, old], None)
    assert after.open(sealed_before, "payment_proofs.image") == b"\x89PNG image"
    assert key_id_of(after.seal(b"x", "p")) == new[0]
    assert before.blind_index("ana@example.com") == after.blind_index("ana@example.com")
    with pytest.raises(DataKeyError, match="no data key"):
        ring_of([new], None).open(sealed_before, "payment_proofs.image")


def test_damaged_or_clear_values_are_refused_not_returned() -> None:
    ring = ring_of([new_key()], None)
    sealed = ring.seal_text("Orchard Rd", "addresses.line1")
    with pytest.raises(DataKeyError):
        ring.open_text(sealed[:-4] + "AAAA", "addresses.line1")
    with pytest.raises(DataKeyError):
        ring.open_text("Orchard Rd", "addresses.line1")


def test_keys_from_the_environment_and_bad_ones_refused() -> None:
    key_id, key = new_key()
    ring = ring_from_config(f"{format_entry('new', new_key()[1])}, {format_entry(key_id, key)}")
    assert ring is not None and ring.current == "new" and set(ring.keys) == {"new", key_id}
    assert ring_from_config("") is None
    for bad in ("k1:not-base64!!", "k1:" + "A" * 10, "bad id:" + format_entry("x", key).split(":")[1]):
        with pytest.raises(DataKeyError):
            parse_ring(bad)


def test_without_a_key_one_is_generated_beside_the_database_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/shop.db"
    assert key_file_for(url) == tmp_path / "shop.db.keys"
    first = load_keyring(url)
    mode = stat.S_IMODE((tmp_path / "shop.db.keys").stat().st_mode)
    assert mode == 0o600
    again = load_keyring(url)
    assert again.keys == first.keys and again.index_key == first.index_key
    assert key_file_for("postgresql://u@h/db", tmp_path) == tmp_path / "gomflow.keys"


def _first_run(folder: str, barrier: Any, keys: Any) -> None:
    """One worker process starting on a database that has no key yet: the key it will seal with."""
    barrier.wait()
    keys.put(load_keyring(f"sqlite+aiosqlite:///{folder}/gomflow.db").current)


def test_workers_starting_together_on_a_new_database_share_one_generated_key(tmp_path: Path) -> None:
    # Several `gomflow run` processes started at once (a supervisor, `--workers N`) must not
    # each generate and keep a key of their own: values one sealed would be lost to the rest.
    context = multiprocessing.get_context("fork")
    for attempt in range(5):
        folder = tmp_path / f"attempt-{attempt}"
        folder.mkdir()
        barrier, keys = context.Barrier(8), context.Queue()
        workers = [context.Process(target=_first_run, args=(str(folder), barrier, keys)) for _ in range(8)]
        for worker in workers:
            worker.start()
        started = [keys.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(timeout=60)
        on_disk = load_keyring(f"sqlite+aiosqlite:///{folder}/gomflow.db").current
        assert set(started) == {on_disk}
