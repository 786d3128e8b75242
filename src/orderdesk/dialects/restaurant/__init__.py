"""The restaurant API (xMenu-compatible) under ``/api``."""
