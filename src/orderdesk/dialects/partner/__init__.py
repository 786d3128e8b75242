"""The partner API (AnyMaster-compatible) under ``/partner``."""
