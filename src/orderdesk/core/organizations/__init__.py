"""Organizations (partners, restaurants), their locations, users and access tokens."""
