"""Totals in integer minor units: lines, services, options, delivery fee, discount."""
