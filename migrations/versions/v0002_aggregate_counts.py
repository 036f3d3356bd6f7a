"""Aggregate counts for trend queries: per (cause, kind) and per package, per snapshot.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-25

`snapshot_cause_count` is a table, backfilled here from the escapes of the snapshots
already stored. `snapshot_package_count` is a view over `snapshot_package` and
`package_result` (which already holds each package's count): a table would add a row per
package per commit, more than the changed escapes of a typical commit.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the count table (backfilled), the per-package view and an index for trend queries."""
    op.create_table(
        "snapshot_cause_count",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["snapshot.id"],
            name=op.f("fk_snapshot_cause_count_snapshot_id_snapshot"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "cause", "kind", name=op.f("pk_snapshot_cause_count")),
        sqlite_with_rowid=False,
    )
    op.execute(
        """
        INSERT INTO snapshot_cause_count (snapshot_id, cause, kind, count)
        SELECT sp.snapshot_id, e.cause, e.kind, COUNT(*)
        FROM snapshot_package sp
        JOIN package_file pf ON pf.package_result_id = sp.package_result_id
        JOIN escape_site e ON e.file_result_id = pf.file_result_id
        GROUP BY sp.snapshot_id, e.cause, e.kind
        """
    )
    op.create_index(op.f("ix_package_result_package"), "package_result", ["package"])
    op.execute(
        """
        CREATE VIEW snapshot_package_count AS
        SELECT sp.snapshot_id AS snapshot_id, pr.package AS package, pr.escape_count AS count
        FROM snapshot_package sp
        JOIN package_result pr ON pr.id = sp.package_result_id
        """
    )


def downgrade() -> None:
    """Drop the view, the index and the count table."""
    op.execute("DROP VIEW snapshot_package_count")
    op.drop_index(op.f("ix_package_result_package"), table_name="package_result")
    op.drop_table("snapshot_cause_count")
