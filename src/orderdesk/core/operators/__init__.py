"""The people who run the business through the console: operators, their roles and sessions."""
