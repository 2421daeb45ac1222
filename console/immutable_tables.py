"""For the migrations that create a table of published history: the database's refusal to
change or delete its rows. PostgreSQL's `refuse_change()` (migration 0001) on UPDATE, DELETE and
TRUNCATE; on SQLite, triggers that abort. Kept stable: migrations that ran must mean the same."""

from __future__ import annotations

from alembic import op


def refuse_changes(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
        )
        return
    for operation in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} rows are immutable: {operation} refused'); END"
        )


def allow_changes(table: str) -> None:
    """Undoes `refuse_changes` (for a downgrade)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
        return
    op.execute(f"DROP TRIGGER {table}_no_update")
    op.execute(f"DROP TRIGGER {table}_no_delete")
