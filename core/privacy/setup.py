"""Which keyring a process uses, and how a database finds it.

The environment gives the keys (``GOMFLOW_DATA_KEYS``, or one ``GOMFLOW_DATA_KEY``). With
none, gomflow keeps its own key file: beside a SQLite database (``gomflow.db.keys`` next to
``gomflow.db``), or ``gomflow.keys`` in the working directory for PostgreSQL; generated on
first run (mode 0600) and named in the log, so ``gomflow run`` works with nothing set.

The column types that seal values have only the SQL dialect in hand, so the composition
root hangs the ring on its engine's dialect; code with no engine of its own (a migration
run by the ``alembic`` command) gets the ring the process loaded last.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.engine import Dialect

from core.privacy.keys import Keyring, new_key, read_key_file, ring_from_config, write_key_file

log = logging.getLogger("gomflow.keys")

DIALECT_ATTRIBUTE = "gomflow_keyring"
_last_loaded: list[Keyring] = []


def key_file_for(database_url: str, workdir: Path | None = None) -> Path:
    """Where gomflow keeps a generated ring for this database."""
    marker = ":///"
    if database_url.startswith("sqlite") and marker in database_url:
        path = database_url.split(marker, 1)[1].split("?", 1)[0]
        if path and path != ":memory:":
            return Path(path).with_name(Path(path).name + ".keys")
    return (workdir or Path.cwd()) / "gomflow.keys"


def load_keyring(database_url: str, data_keys: str = "", index_key: str = "") -> Keyring:
    """The configured ring, else the key file's, generating the file on first run."""
    ring = ring_from_config(data_keys, index_key)
    if ring is None:
        path = key_file_for(database_url)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() and write_key_file(path, [new_key()], only_if_new=True):
            log.warning(
                "no GOMFLOW_DATA_KEY set: generated a data key in %s (mode 0600); "
                "back it up, personal data cannot be read without it",
                path,
            )
        ring = read_key_file(path)
    remember(ring)
    return ring


def remember(ring: Keyring) -> None:
    _last_loaded[:] = [ring]


def attach(dialect: Dialect, ring: Keyring) -> None:
    """Every value sealed or opened through this engine uses ``ring``."""
    setattr(dialect, DIALECT_ATTRIBUTE, ring)
    remember(ring)


def keyring_for(dialect: Dialect | None) -> Keyring:
    ring = getattr(dialect, DIALECT_ATTRIBUTE, None) if dialect is not None else None
    if isinstance(ring, Keyring):
        return ring
    if _last_loaded:
        return _last_loaded[0]
    raise RuntimeError("no data keyring loaded: the composition root loads one (core.app.build_core)")


def add_key_to_file(ring: Keyring) -> str:
    """A fresh key at the head of a ring kept in a key file (it seals from now on); its id.

    The file keeps every older key, so values sealed under them stay readable, and a
    server that has the file open picks the new key up the first time it meets it.
    """
    assert ring.source is not None, "only a ring read from a key file grows here"
    key_id, key = new_key()
    write_key_file(ring.source, [(key_id, key), *((i, k) for i, k in ring.keys.items() if i != key_id)])
    ring.keys[key_id] = key
    ring.current = key_id
    return key_id
