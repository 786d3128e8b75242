"""The shared domain: everything both dialects stand on. Nothing here knows about HTTP."""
