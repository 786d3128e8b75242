"""Uploaded images (partner receipts): validation, re-encoding, storage, linking to orders."""
