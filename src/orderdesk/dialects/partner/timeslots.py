"""The partner API's master timeslots: three daily slots named by their hours.

The names are this dialect's vocabulary (requests, answers, stored store capacity and the setup
document use them); the core books capacity in whatever slots it is given, and the routes give it
these when they are loaded.
"""

from __future__ import annotations

from datetime import time

from orderdesk.core.scheduling.service import Slot

TIMESLOTS = (
    Slot("0712", time(7), time(12)),
    Slot("1217", time(12), time(17)),
    Slot("1721", time(17), time(21)),
)
NAMES = tuple(slot.name for slot in TIMESLOTS)
