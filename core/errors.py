"""One exception tree for everything a user can be told went wrong.

Every error carries a stable ``code`` (for adapters, logs and tests) and a ``message``
fit to show the person who caused it. Adapters render the message; they never show a
traceback.
"""

from __future__ import annotations

from core.render import N_


class GomflowError(Exception):
    """Base of every error the core raises on purpose.

    The message is written once, in English, with its values apart
    (``UnknownOrder("There is no order %(number)s.", number=number)``), so an adapter can
    show it in the reader's language: the catalogues translate the text (``pybabel
    extract`` finds it by the class's name) and ``Renderer.said`` fills it in.
    """

    code = "error"

    def __init__(self, message: str, /, **values: object) -> None:
        self.text = message  # as written, with %(name)s placeholders where values go
        self.values = values
        self.message = message % values if values else message
        super().__init__(self.message)


class InvalidInput(GomflowError):
    code = "invalid_input"


class InvalidAmount(InvalidInput):
    code = "invalid_amount"


class UnknownCurrency(InvalidInput):
    code = "unknown_currency"


class InvalidQuantity(InvalidInput):
    code = "invalid_quantity"


class NotFound(GomflowError):
    code = "not_found"


class UnknownGroupOrder(NotFound):
    code = "unknown_group_order"


class UnknownItem(NotFound):
    code = "unknown_item"


class UnknownOrder(NotFound):
    code = "unknown_order"


class UnknownUser(NotFound):
    code = "unknown_user"


class PermissionDenied(GomflowError):
    code = "permission_denied"


class NotSignedIn(PermissionDenied):
    """No dashboard session, or one that has ended: a new sign-in link comes from the bot."""

    code = "not_signed_in"


class SignInLinkSpent(GomflowError):
    """A dashboard sign-in link pressed already, or whose time ran out: it opens nothing."""

    code = "sign_in_link_spent"


class InvalidTransition(GomflowError):
    code = "invalid_transition"


class Conflict(GomflowError):
    code = "conflict"


class DuplicateCode(Conflict):
    code = "duplicate_code"


class NotOpenForOrders(GomflowError):
    code = "not_open"


class DeadlinePassed(NotOpenForOrders):
    code = "deadline_passed"


class CapacityFull(GomflowError):
    code = "capacity_full"


class OutOfStock(GomflowError):
    code = "out_of_stock"


class BuyerLimitReached(GomflowError):
    code = "buyer_limit"


class AlreadyChanged(Conflict):
    """Someone else changed the row's status first (a double tap, or two people at once)."""

    code = "already_changed"


class AlreadyClaimed(Conflict):
    """The same inbound request (a double tap) was handled already."""

    code = "already_claimed"


class PriceChanged(GomflowError):
    """The buyer confirmed a price that is no longer the item's price."""

    code = "price_changed"


class CatalogueChanged(PriceChanged):
    """The GOM edited the GO (a price, a limit, a retired item) after the order read it."""

    code = "catalogue_changed"


class OrderLocked(GomflowError):
    """The order can no longer be changed by the buyer (paid, cancelled, expired)."""

    code = "order_locked"


class AlreadyWaitlisted(Conflict):
    code = "already_waitlisted"


class PaymentError(GomflowError):
    """A payment cannot be made or taken the way it was asked."""

    code = "payment"


class GatewayError(PaymentError):
    """A payment provider refused or could not be reached; the message is safe to show."""

    code = "gateway"


class WebhookRejected(GomflowError):
    """An inbound payment notification is unsigned, forged, stale or unreadable."""

    code = "webhook_rejected"


class DatabaseBusy(GomflowError):
    """The database has no connection free (pool exhausted, too many clients, locked).

    Nothing is wrong with the request: the same message a moment later goes through, so
    people are told to try again and payment providers are asked to retry (503).
    """

    code = "database_busy"
    MESSAGE = N_("We're very busy right now. Please try again in a moment.")

    def __init__(self, message: str = MESSAGE) -> None:
        super().__init__(message)


class AlreadyHandled(Conflict):
    """An inbound update was handled already (by another worker, or before a restart);
    the second handling's writes were rolled back."""

    code = "already_handled"


class DatabaseNotReady(GomflowError):
    """The database cannot be checked: it does not exist, or is not at the newest schema."""

    code = "database_not_ready"


class BuyerBanned(PermissionDenied):
    """The GO's GOM takes no orders from this buyer; the message never says why."""

    code = "banned"


class PolicyNotAgreed(GomflowError):
    """The buyer has not agreed to the GO's policy yet: show it with an "I agree" that
    carries the order they asked for (``go_code``, ``requests``)."""

    code = "policy_not_agreed"

    def __init__(self, go_code: str, requests: tuple[object, ...] = ()) -> None:
        code = go_code.strip().upper()
        super().__init__(
            N_(
                "Before your first order in %(code)s, read its rules (/policy %(code)s) and agree to "
                "them with /agree %(code)s."
            ),
            code=code,
        )
        self.go_code = code
        self.requests = requests


def message_keywords() -> list[str]:
    """The names whose first argument is a message to translate, for ``pybabel extract
    -k``: every error of this module that takes its message first (those that take other
    arguments mark their message ``N_``, which pybabel knows already)."""
    errors = [e for e in globals().values() if isinstance(e, type) and issubclass(e, GomflowError)]
    return sorted(e.__name__ for e in errors if e is GomflowError or "__init__" not in vars(e))
