"""What each package result was parsed from, for a pull request's head to reuse its base's.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

`package_block` keys a package result by the digest of the parser's setup and the package's
`-json` event, with the digests of the source files its records were derived from
(bot/gc/reuse.py). Snapshots stored before this revision have no rows here: their packages are
parsed again, as before, until a snapshot stored by this revision is a base.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the block table."""
    op.create_table(
        "package_block",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("package_result_id", sa.Integer(), nullable=False),
        sa.Column("block_key", sa.String(length=64), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("generated_skipped", sa.Integer(), nullable=False),
        sa.Column("collapsed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_result_id"],
            ["package_result.id"],
            name=op.f("fk_package_block_package_result_id_package_result"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_package_block")),
        sa.UniqueConstraint("digest", name=op.f("uq_package_block_digest")),
    )
    op.create_index(op.f("ix_package_block_package_result_id"), "package_block", ["package_result_id"])


def downgrade() -> None:
    """Drop the block table."""
    op.drop_index(op.f("ix_package_block_package_result_id"), table_name="package_block")
    op.drop_table("package_block")
