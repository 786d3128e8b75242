"""orderdesk: an order-intake server speaking two partner order APIs on one core."""

__version__ = "0.1.0"
