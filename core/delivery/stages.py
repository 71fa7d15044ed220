"""How a GO's delivery stage reads to a buyer: "it has arrived", never "it is now arrived"."""

from __future__ import annotations

STAGE_PHRASES: dict[str, str] = {
    "draft": "is being prepared",
    "open": "is taking orders",
    "closed": "has closed for orders",
    "confirmed": "is going ahead",
    "failed": "did not reach its minimum and will not go ahead",
    "ordered": "has been ordered from the supplier",
    "arrived": "has arrived at the GOM",
    "packing": "is being packed",
    "shipping": "is on its way: parcels are being sent and pickups are ready",
    "completed": "is complete",
    "cancelled": "was cancelled",
}


def stage_phrase(status: str) -> str:
    return STAGE_PHRASES.get(status, f"is {status}")
