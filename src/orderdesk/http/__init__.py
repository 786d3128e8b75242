"""HTTP plumbing shared by every dialect: application state, transactions, request bodies."""
