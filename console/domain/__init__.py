"""The domain core: incidents, versioned updates, audit trail and outbox.

Nothing in this package imports Starlette or templates. Services take a SQLAlchemy
session and never commit: the caller owns the transaction.
"""
