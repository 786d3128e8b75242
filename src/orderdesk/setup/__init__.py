"""The setup document: declare organizations, credentials, catalogs and capacity in one JSON file.

``parse_setup`` validates a decoded document (every error at once, with JSON paths),
``apply_setup`` upserts it inside the caller's transaction and ``apply_file`` is the whole
``orderdesk apply`` command. ``demo_document`` is the built-in demo setup.
"""

from orderdesk.setup.apply import ApplyReport, apply_file, apply_setup
from orderdesk.setup.demo import DEMO_LOGINS, demo_document
from orderdesk.setup.schema import SetupDocument, SetupError, SetupInvalid, parse_setup

__all__ = [
    "DEMO_LOGINS",
    "ApplyReport",
    "SetupDocument",
    "SetupError",
    "SetupInvalid",
    "apply_file",
    "apply_setup",
    "demo_document",
    "parse_setup",
]
