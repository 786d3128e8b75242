"""Capacity per location, day and slot, and its atomic reservation."""
