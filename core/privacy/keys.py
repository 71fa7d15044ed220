"""The data keys: personal values sealed with AES-GCM, and the blind index to look them up.

A sealed value names the key that sealed it (``gf1.<key id>.<nonce+ciphertext>``), so a
keyring of several keys reads every value while ``gomflow keys rotate`` moves them, one
short transaction at a time, to the newest key. The first key of the ring seals; all of
them open. Each value is bound to its column (the AES-GCM associated data), so a sealed
phone number copied into another column does not open there.

Lookups never decrypt: a phone number or an email address is found by its blind index, an
HMAC-SHA256 of the normalised value under a key of its own (derived with HKDF, never the
data key itself). The index key does not change when the data keys rotate, or every
index would have to be recomputed while lookups went on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "gf1"
NONCE_BYTES = 12
KEY_BYTES = 32
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")
INDEX_INFO = b"gomflow blind index v1"


class DataKeyError(Exception):
    """A data key is missing, malformed, or does not open a value."""


@dataclass
class Keyring:
    """Data keys by id, the first one sealing; and the blind index key.

    A ring read from a key file reloads it once when it meets a key id it does not know:
    ``gomflow keys rotate`` run beside a server adds a key to the file, and the server
    then reads what the rotation wrote without a restart.
    """

    keys: dict[str, bytes]
    current: str
    index_key: bytes
    source: Path | None = None
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, repr=False)

    def seal(self, plain: bytes, purpose: str) -> bytes:
        """``plain`` sealed under the current key for ``purpose`` (the column it goes in)."""
        return f"{PREFIX}.{self.current}.".encode() + self._payload(plain, purpose)

    def open(self, sealed: bytes, purpose: str) -> bytes:
        key_id, body = split_sealed(sealed)
        return self._open_payload(key_id, body, purpose)

    def seal_text(self, plain: str, purpose: str) -> str:
        payload = base64.urlsafe_b64encode(self._payload(plain.encode(), purpose)).decode()
        return f"{PREFIX}.{self.current}.{payload}"

    def open_text(self, sealed: str, purpose: str) -> str:
        parts = sealed.split(".", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            raise DataKeyError(f"this {purpose} value is not sealed")
        try:
            payload = base64.urlsafe_b64decode(parts[2])
        except (binascii.Error, ValueError) as exc:
            raise DataKeyError(f"this {purpose} value is damaged") from exc
        return self._open_payload(parts[1], payload, purpose).decode()

    def _payload(self, plain: bytes, purpose: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._cipher(self.current).encrypt(nonce, plain, purpose.encode())

    def _open_payload(self, key_id: str, body: bytes, purpose: str) -> bytes:
        if len(body) < NONCE_BYTES + 16:
            raise DataKeyError(f"this {purpose} value is too short to be sealed")
        try:
            return self._cipher(key_id).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], purpose.encode())
        except InvalidTag as exc:
            raise DataKeyError(f"key {key_id} does not open this {purpose} value") from exc

    def blind_index(self, normalised: str) -> str:
        """The keyed hash a lookup compares: the same value, the same index, and no way back."""
        return hmac.new(self.index_key, normalised.encode(), hashlib.sha256).hexdigest()

    def _cipher(self, key_id: str) -> AESGCM:
        if key_id not in self.keys and self.source is not None:
            fresh = read_key_file(self.source)
            self.keys.update(fresh.keys)
        if key_id not in self.keys:
            raise DataKeyError(f"no data key {key_id!r} in the keyring: add it to GOMFLOW_DATA_KEYS")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            cipher = self._ciphers[key_id] = AESGCM(self.keys[key_id])
        return cipher


def key_id_of(sealed: bytes | str) -> str:
    """The id of the key that sealed a value (bytes or text)."""
    raw = sealed.encode() if isinstance(sealed, str) else sealed
    return split_sealed(raw)[0]


def split_sealed(sealed: bytes) -> tuple[str, bytes]:
    head, dot, rest = sealed.partition(b".")
    key_id, dot2, body = rest.partition(b".")
    if head != PREFIX.encode() or not dot or not dot2:
        raise DataKeyError("this value is not sealed")
    return key_id.decode("ascii", "replace"), body


def new_key() -> tuple[str, bytes]:
    """A fresh random key and its id."""
    key = os.urandom(KEY_BYTES)
    return default_key_id(key), key


def default_key_id(key: bytes) -> str:
    """An id for a key given without one: not secret (a hash), stable."""
    return "k" + hashlib.sha256(b"gomflow key id:" + key).hexdigest()[:8]


def derive_index_key(key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=INDEX_INFO).derive(key)


def parse_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DataKeyError("a data key is not base64") from exc
    if len(key) != KEY_BYTES:
        raise DataKeyError(
            f"a data key must be {KEY_BYTES} bytes (base64 of 32 random bytes), not {len(key)}"
        )
    return key


def parse_ring(text: str) -> list[tuple[str, bytes]]:
    """``id:base64,id:base64`` (or one line each), newest first; an entry without id gets one."""
    entries: list[tuple[str, bytes]] = []
    lines = [line for line in text.splitlines() if not line.strip().startswith("#")]
    for raw in ",".join(lines).split(","):
        entry = raw.strip()
        if not entry:
            continue
        key_id, colon, encoded = entry.partition(":")
        if not colon:
            key = parse_key(entry)
            entries.append((default_key_id(key), key))
            continue
        if not KEY_ID.fullmatch(key_id):
            raise DataKeyError(f"key id {key_id[:20]!r}: use 1–16 letters, digits, - or _")
        entries.append((key_id, parse_key(encoded)))
    return entries


def ring_of(entries: list[tuple[str, bytes]], index_key: bytes | None, source: Path | None = None) -> Keyring:
    """The ring: the first entry seals; the index key is given, or derived from the oldest key."""
    if not entries:
        raise DataKeyError("no data key given")
    return Keyring(
        keys=dict(entries),
        current=entries[0][0],
        index_key=index_key if index_key is not None else derive_index_key(entries[-1][1]),
        source=source,
    )


def read_key_file(path: Path) -> Keyring:
    return ring_of(parse_ring(path.read_text(encoding="ascii")), None, source=path)


def format_entry(key_id: str, key: bytes) -> str:
    return f"{key_id}:{base64.urlsafe_b64encode(key).decode()}"


def write_key_file(path: Path, entries: list[tuple[str, bytes]], *, only_if_new: bool = False) -> bool:
    """Write the ring, readable by its owner only (0600), in one step; whether it was written.

    The ring goes to a temporary file of this process's own first, then takes ``path``
    at once: by a rename, or with ``only_if_new`` by a hard link, which fails when the
    file exists. Workers starting together on a new database thus keep the one key that
    won, instead of each sealing with a key of its own.
    """
    fd, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".new", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write("# gomflow data keys, newest first: keep this file secret and backed up\n")
            file.writelines(format_entry(key_id, key) + "\n" for key_id, key in entries)
        os.chmod(temporary, 0o600)
        if not only_if_new:
            os.replace(temporary, path)
            return True
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def ring_from_config(data_keys: str, index_key: str = "") -> Keyring | None:
    """The ring the settings give (``GOMFLOW_DATA_KEYS`` or ``GOMFLOW_DATA_KEY``), if any."""
    if not data_keys.strip():
        return None
    index = index_key.strip()
    return ring_of(parse_ring(data_keys), derive_index_key(parse_key(index)) if index else None)
