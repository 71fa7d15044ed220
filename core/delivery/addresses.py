"""The address book: what a buyer ships to, checked per country before it is kept.

Postal codes follow the country's rule where there is a clear one (Singapore and Vietnam
six digits, the Philippines four, Malaysia, Indonesia and Thailand five); phone numbers
must be real numbers for their country and are kept in E.164 (``+6591234567``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from sqlalchemy import delete, func, select

from core.db.models import Address
from core.errors import InvalidInput, NotFound
from core.services.accounts import Actor
from core.uow import UnitOfWork

POSTAL_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "SG": (re.compile(r"\d{6}"), "6 digits, like 238823"),
    "VN": (re.compile(r"\d{6}"), "6 digits, like 700000"),
    "PH": (re.compile(r"\d{4}"), "4 digits, like 1226"),
    "MY": (re.compile(r"\d{5}"), "5 digits, like 50450"),
    "ID": (re.compile(r"\d{5}"), "5 digits, like 10110"),
    "TH": (re.compile(r"\d{5}"), "5 digits, like 10330"),
}
OTHER_POSTAL = re.compile(r"[A-Z0-9][A-Z0-9 -]{1,10}")
MAX_ADDRESSES = 10
LIMITS = {"recipient": 120, "line1": 200, "line2": 200}


@dataclass(frozen=True)
class NewAddress:
    recipient: str
    phone: str
    line1: str
    postal_code: str
    country: str
    line2: str = ""


@dataclass(frozen=True)
class AddressView:
    id: int
    recipient: str
    phone: str
    line1: str
    line2: str
    postal_code: str
    country: str

    @property
    def one_line(self) -> str:
        lines = ", ".join(filter(None, (self.line1, self.line2)))
        return f"{self.recipient}, {self.phone}, {lines}, {self.country} {self.postal_code}"

    @property
    def label(self) -> str:
        """As on a parcel's label, without the phone number (which has a column of its own)."""
        lines = ", ".join(filter(None, (self.line1, self.line2)))
        return f"{self.recipient}, {lines}, {self.country} {self.postal_code}"


def check_country(text: str) -> str:
    country = text.strip().upper()
    if country not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(
            "'%(text)s' is not a country code; use two letters like SG, MY, PH or TH.", text=text[:10]
        )
    return country


def check_postal_code(text: str, country: str) -> str:
    code = text.strip().upper()
    rule = POSTAL_RULES.get(country)
    if rule is not None:
        pattern, shape = rule
        if not pattern.fullmatch(code):
            raise InvalidInput(
                "'%(text)s' is not a postal code in %(country)s: it has %(shape)s.",
                text=text[:20],
                country=country,
                shape=shape,
            )
    elif not OTHER_POSTAL.fullmatch(code):
        raise InvalidInput("'%(text)s' does not look like a postal code.", text=text[:20])
    return code


def check_phone(text: str, country: str) -> str:
    """The number in E.164; a local number is read as one of ``country``."""
    try:
        number = phonenumbers.parse(text.strip(), country)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidInput(
            (
                "'%(text)s' is not a phone number in %(country)s; write it with its country "
                "code, like +6591234567."
            ),
            text=text[:25],
            country=country,
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_address(new: NewAddress) -> NewAddress:
    """The address cleaned and checked, or ``InvalidInput`` naming the first thing wrong."""
    country = check_country(new.country)
    fields = {"recipient": new.recipient, "line1": new.line1, "line2": new.line2}
    cleaned = {key: " ".join(value.split()) for key, value in fields.items()}
    for key, limit in LIMITS.items():
        if len(cleaned[key]) > limit:
            raise InvalidInput(
                "The %(key)s is too long (at most %(limit)s characters).", key=key, limit=limit
            )
    if not cleaned["recipient"]:
        raise InvalidInput("Whom is the parcel for? Give the recipient's name.")
    if not cleaned["line1"]:
        raise InvalidInput("Give the street address (line 1).")
    return NewAddress(
        recipient=cleaned["recipient"],
        phone=check_phone(new.phone, country),
        line1=cleaned["line1"],
        line2=cleaned["line2"],
        postal_code=check_postal_code(new.postal_code, country),
        country=country,
    )


def view_of(row: Address) -> AddressView:
    return AddressView(row.id, row.recipient, row.phone, row.line1, row.line2, row.postal_code, row.country)


async def add_address(uow: UnitOfWork, buyer: Actor, new: NewAddress) -> AddressView:
    checked = check_address(new)
    async with uow:
        count = await uow.session.scalar(
            select(func.count()).select_from(Address).where(Address.user_id == buyer.user_id)
        )
        if (count or 0) >= MAX_ADDRESSES:
            raise InvalidInput(
                "You have %(max_addresses)s addresses already; delete one first.", max_addresses=MAX_ADDRESSES
            )
        row = Address(
            user_id=buyer.user_id,
            recipient=checked.recipient,
            phone=checked.phone,
            line1=checked.line1,
            line2=checked.line2,
            postal_code=checked.postal_code,
            country=checked.country,
            created_at=uow.now,
            updated_at=uow.now,
        )
        uow.session.add(row)
        await uow.session.flush()
        view = view_of(row)
        await uow.commit()
        return view


async def edit_address(
    uow: UnitOfWork, buyer: Actor, address_id: int, changes: dict[str, str]
) -> AddressView:
    """Change some fields of one's own address; the whole result is checked again."""
    async with uow:
        row = await _own(uow, buyer, address_id)
        merged = NewAddress(
            recipient=changes.get("recipient", row.recipient),
            phone=changes.get("phone", row.phone),
            line1=changes.get("line1", row.line1),
            line2=changes.get("line2", row.line2),
            postal_code=changes.get("postal_code", row.postal_code),
            country=changes.get("country", row.country),
        )
        checked = check_address(merged)
        for key in ("recipient", "phone", "line1", "line2", "postal_code", "country"):
            setattr(row, key, getattr(checked, key))
        row.updated_at = uow.now
        view = view_of(row)
        await uow.commit()
        return view


async def my_addresses(uow: UnitOfWork, buyer: Actor) -> list[AddressView]:
    async with uow:
        rows = await uow.session.scalars(
            select(Address).where(Address.user_id == buyer.user_id).order_by(Address.id)
        )
        return [view_of(row) for row in rows]


async def delete_address(uow: UnitOfWork, buyer: Actor, address_id: int) -> None:
    async with uow:
        result = await uow.session.execute(
            delete(Address).where(Address.id == address_id, Address.user_id == buyer.user_id)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise NotFound(
                "You have no address #%(address_id)s. /address lists yours.", address_id=address_id
            )
        await uow.commit()


async def _own(uow: UnitOfWork, buyer: Actor, address_id: int) -> Address:
    row = await uow.session.get(Address, address_id)
    if row is None or row.user_id != buyer.user_id:
        raise NotFound("You have no address #%(address_id)s. /address lists yours.", address_id=address_id)
    return row
