"""The order transition table against the published status lists (pure, no database)."""

from __future__ import annotations

import itertools

import pytest

from orderdesk.core.errors import Conflict
from orderdesk.core.orders import lifecycle
from orderdesk.core.orders.lifecycle import STATUS_OF, TRANSITIONS, check_move, is_open, status_of

# The service's public lists, plus the ``cancelled`` extension (spec: "Statuses and substatuses").
SPEC_SUBSTATUSES: dict[str, set[str]] = {
    "open": {
        "open",
        "awaiting_master_request",
        "awaiting_master_accept",
        "not_in_stock",
        "in_stock_awaiting_date",
    },
    "in_work": {"in_work"},
    "completed": {
        "completed",
        "awaiting_payment",
        "payment_hold",
        "payment_captured",
        "payment_error",
        "payment_requires_action",
        "awaiting_fee",
        "fee_hold",
        "fee_captured",
        "fee_error",
        "fee_requires_action",
    },
    "cancelled": {"cancelled"},
}
SPEC_STATUSES = {"open", "in_work", "completed", "done", "cancelled"}
NEW_ORDER_SUBSTATUSES = {"awaiting_master_request", "not_in_stock"}
# Restaurant orders start confirmed (by the restaurant) or awaiting confirmation (customers).
NEW_RESTAURANT_SUBSTATUSES = {"awaiting_confirmation", "confirmed"}


def _reachable(start: set[str]) -> set[str]:
    seen, frontier = set(start), list(start)
    while frontier:
        for target in TRANSITIONS[frontier.pop()]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


@pytest.mark.parametrize(
    ("status", "substatus"), [(st, sub) for st, subs in SPEC_SUBSTATUSES.items() for sub in subs]
)
def test_every_published_substatus_exists_under_its_status(status: str, substatus: str) -> None:
    assert status_of(substatus) == status


def test_every_substatus_maps_to_a_published_status() -> None:
    assert set(STATUS_OF.values()) == SPEC_STATUSES


def test_every_substatus_has_a_row_and_every_target_is_a_substatus() -> None:
    assert set(TRANSITIONS) == set(STATUS_OF)
    for targets in TRANSITIONS.values():
        assert targets <= set(STATUS_OF)


def test_new_orders_start_open() -> None:
    for substatus in NEW_ORDER_SUBSTATUSES:
        assert status_of(substatus) == "open"
        assert is_open(substatus)


def test_every_substatus_is_reachable_from_a_new_order() -> None:
    starts = NEW_ORDER_SUBSTATUSES | NEW_RESTAURANT_SUBSTATUSES | {"open"}
    assert _reachable(starts) == set(STATUS_OF)


def test_restaurant_orders_confirm_then_close_or_time_out() -> None:
    check_move("awaiting_confirmation", "confirmed")
    check_move("confirmed", "closed")
    check_move("awaiting_confirmation", "timed_out")
    assert status_of("closed") == "done"
    assert status_of("timed_out") == "cancelled"
    for terminal in ("closed", "timed_out"):
        for target in STATUS_OF:
            with pytest.raises(Conflict):
                check_move(terminal, target)
    with pytest.raises(Conflict):
        check_move("timed_out", "confirmed")


def test_started_work_can_lead_to_done() -> None:
    assert "done" in _reachable({"in_work"})
    assert status_of("done") == "done"


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("done", "open"),
        ("in_work", "awaiting_master_request"),
        ("not_in_stock", "in_work"),
        ("awaiting_master_request", "done"),
        ("awaiting_master_request", "completed"),
        ("completed", "in_work"),
        ("payment_captured", "awaiting_payment"),
        ("fee_captured", "payment_hold"),
        ("in_work", "cancelled"),
        ("payment_hold", "cancelled"),
        ("open", "no_such_substatus"),
    ],
)
def test_illegal_move_raises_conflict(current: str, target: str) -> None:
    with pytest.raises(Conflict):
        check_move(current, target)


def test_check_move_accepts_exactly_the_listed_moves() -> None:
    refused = set()
    for current, target in itertools.product(STATUS_OF, STATUS_OF):
        try:
            check_move(current, target)
        except Conflict:
            refused.add((current, target))
    allowed = {(c, t) for c, targets in TRANSITIONS.items() for t in targets}
    assert refused == set(itertools.product(STATUS_OF, STATUS_OF)) - allowed


@pytest.mark.parametrize("substatus", list(STATUS_OF))
def test_cancel_is_allowed_only_while_open(substatus: str) -> None:
    if status_of(substatus) == "open":
        check_move(substatus, "cancelled")
    else:
        with pytest.raises(Conflict):
            check_move(substatus, "cancelled")


@pytest.mark.parametrize("terminal", ["done", "cancelled"])
def test_done_and_cancelled_are_terminal(terminal: str) -> None:
    assert not is_open(terminal)
    for target in STATUS_OF:
        with pytest.raises(Conflict):
            check_move(terminal, target)


def test_money_steps_never_lead_back_to_open_or_work() -> None:
    for substatus in SPEC_SUBSTATUSES["completed"]:
        assert {status_of(t) for t in TRANSITIONS[substatus]} <= {"completed", "done"}


def test_only_open_orders_reach_in_work() -> None:
    sources = {s for s, targets in TRANSITIONS.items() if "in_work" in targets}
    assert sources
    assert all(lifecycle.is_open(s) for s in sources)
