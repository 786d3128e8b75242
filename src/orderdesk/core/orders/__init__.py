"""The one order model both dialects share, its lifecycle and its events."""
