"""The order lifecycle: which substatus belongs to which status, and every legal move.

One table for every order, whichever dialect created it. A move not listed here is refused with
:class:`~orderdesk.core.errors.Conflict`; the caller records the accepted move as an event.
"""

from __future__ import annotations

from orderdesk.core.errors import Conflict

STATUS_OF: dict[str, str] = {
    # open: created, work not started
    "open": "open",
    "awaiting_master_request": "open",
    "awaiting_master_accept": "open",
    "not_in_stock": "open",
    "in_stock_awaiting_date": "open",
    # in_work: a master started
    "in_work": "in_work",
    # completed: the master says done, money frozen; the payment and fee steps lead to done
    "completed": "completed",
    "awaiting_payment": "completed",
    "payment_hold": "completed",
    "payment_captured": "completed",
    "payment_error": "completed",
    "payment_requires_action": "completed",
    "awaiting_fee": "completed",
    "fee_hold": "completed",
    "fee_captured": "completed",
    "fee_error": "completed",
    "fee_requires_action": "completed",
    "done": "done",
    "cancelled": "cancelled",
    # Restaurant orders: a customer's order waits for the restaurant's confirmation, is then
    # prepared (in work) and closed when handed over; unconfirmed in time, it times out.
    "awaiting_confirmation": "open",
    "confirmed": "in_work",
    "closed": "done",
    "timed_out": "cancelled",
}

_OPEN = {
    "open",
    "awaiting_master_request",
    "awaiting_master_accept",
    "not_in_stock",
    "in_stock_awaiting_date",
    "awaiting_confirmation",
}

TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"awaiting_master_request", "not_in_stock", "in_stock_awaiting_date"}),
    "not_in_stock": frozenset({"awaiting_master_request", "in_stock_awaiting_date"}),
    "in_stock_awaiting_date": frozenset({"awaiting_master_request"}),
    "awaiting_master_request": frozenset(
        {"awaiting_master_accept", "in_stock_awaiting_date", "awaiting_master_request"}
    ),
    "awaiting_master_accept": frozenset(
        {"in_work", "awaiting_master_request", "in_stock_awaiting_date"}
    ),
    "in_work": frozenset({"completed"}),
    "completed": frozenset({"awaiting_payment"}),
    "awaiting_payment": frozenset(
        {"payment_hold", "payment_requires_action", "payment_error", "payment_captured"}
    ),
    "payment_requires_action": frozenset({"payment_hold", "payment_error", "payment_captured"}),
    "payment_error": frozenset({"awaiting_payment", "payment_hold", "payment_requires_action"}),
    "payment_hold": frozenset({"payment_captured", "payment_error"}),
    "payment_captured": frozenset({"awaiting_fee", "done"}),
    "awaiting_fee": frozenset({"fee_hold", "fee_requires_action", "fee_error", "fee_captured"}),
    "fee_requires_action": frozenset({"fee_hold", "fee_error", "fee_captured"}),
    "fee_error": frozenset({"awaiting_fee", "fee_hold", "fee_requires_action"}),
    "fee_hold": frozenset({"fee_captured", "fee_error"}),
    "fee_captured": frozenset({"done"}),
    "done": frozenset(),
    "cancelled": frozenset(),
    "awaiting_confirmation": frozenset({"confirmed", "timed_out"}),
    "confirmed": frozenset({"closed"}),
    "closed": frozenset(),
    "timed_out": frozenset(),
}
# Any order whose work has not started can be cancelled.
TRANSITIONS = {
    state: targets | {"cancelled"} if state in _OPEN else targets
    for state, targets in TRANSITIONS.items()
}


def status_of(substatus: str) -> str:
    return STATUS_OF[substatus]


def is_open(substatus: str) -> bool:
    return STATUS_OF[substatus] == "open"


def check_move(current: str, target: str) -> None:
    """Raise ``Conflict`` unless ``current -> target`` is a legal move."""
    if target not in STATUS_OF:
        raise Conflict(f"unknown substatus {target!r}")
    if target not in TRANSITIONS[current]:
        raise Conflict(f"an order in {current!r} cannot move to {target!r}")
