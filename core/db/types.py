"""Column types that keep the same meaning on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, LargeBinary, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from core.privacy.setup import keyring_for


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out.

    SQLite has no time zones: values are stored as naive UTC text, which still sorts and
    compares correctly in SQL. PostgreSQL gets ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Sealed:
    """A column type bound to one column's ``purpose`` (sealed into every value)."""

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose


class EncryptedText(Sealed, TypeDecorator[str]):
    """Text sealed with AES-GCM under the engine's data keys; clear text in Python only.

    ``purpose`` names the column: it is bound into each value, so a value moved to another
    column does not open there. Nothing can be compared or searched in SQL but NULL; a
    lookup goes through a blind index column beside it.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else keyring_for(dialect).seal_text(value, self.purpose)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else keyring_for(dialect).open_text(str(value), self.purpose)


class EncryptedBytes(Sealed, TypeDecorator[bytes]):
    """Bytes (an image) sealed like ``EncryptedText``, stored as binary."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> Any:
        return None if value is None else keyring_for(dialect).seal(value, self.purpose)

    def process_result_value(self, value: Any, dialect: Dialect) -> bytes | None:
        return None if value is None else keyring_for(dialect).open(bytes(value), self.purpose)
