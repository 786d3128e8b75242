"""Wire dialects: each translates one public API onto the core and nothing more (see ``base``)."""
