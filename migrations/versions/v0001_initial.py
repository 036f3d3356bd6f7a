"""Initial schema: repositories, commits, snapshots and content-addressed results.

`snapshot.package_result_ids` is a JSON array; the view `snapshot_package` shows it as
rows (dialect-specific: SQLite's json_each, PostgreSQL's json_array_elements_text).

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "repository",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repository")),
        sa.UniqueConstraint("name", name=op.f("uq_repository_name")),
    )
    op.create_table(
        "git_commit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("sha", sa.String(length=64), nullable=False),
        sa.Column("parents", sa.Text(), nullable=False),
        sa.Column("branch", sa.Text(), nullable=True),
        sa.Column("author_name", sa.Text(), nullable=False),
        sa.Column("author_email", sa.Text(), nullable=False),
        sa.Column("authored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repository.id"],
            name=op.f("fk_git_commit_repository_id_repository"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_git_commit")),
        sa.UniqueConstraint("repository_id", "sha", name=op.f("uq_git_commit_repository_id_sha")),
    )
    op.create_table(
        "snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commit_id", sa.Integer(), nullable=False),
        sa.Column("toolchain_key", sa.Text(), nullable=False),
        sa.Column("go_version", sa.String(length=64), nullable=False),
        sa.Column("goos", sa.String(length=32), nullable=False),
        sa.Column("goarch", sa.String(length=32), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("flags", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escape_count", sa.Integer(), nullable=False),
        sa.Column("package_count", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("parsed_packages", sa.Integer(), nullable=False),
        sa.Column("unknown_lines", sa.Integer(), nullable=False),
        sa.Column("generated_skipped", sa.Integer(), nullable=False),
        sa.Column("duplicates_collapsed", sa.Integer(), nullable=False),
        sa.Column("unknown_samples", sa.Text(), nullable=False),
        sa.Column("package_result_ids", sa.Text(), nullable=False),
        sa.CheckConstraint("status IN ('ok', 'failed')", name=op.f("ck_snapshot_status")),
        sa.ForeignKeyConstraint(
            ["commit_id"],
            ["git_commit.id"],
            name=op.f("fk_snapshot_commit_id_git_commit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshot")),
        sa.UniqueConstraint("commit_id", "toolchain_key", name=op.f("uq_snapshot_commit_id_toolchain_key")),
    )
    op.create_table(
        "package_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("package", sa.Text(), nullable=False),
        sa.Column("escape_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_package_result")),
        sa.UniqueConstraint("digest", name=op.f("uq_package_result_digest")),
    )
    op.create_table(
        "file_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("escape_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_result")),
        sa.UniqueConstraint("digest", name=op.f("uq_file_result_digest")),
    )
    op.create_table(
        "package_file",
        sa.Column("package_result_id", sa.Integer(), nullable=False),
        sa.Column("file_result_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_result_id"], ["file_result.id"], name=op.f("fk_package_file_file_result_id_file_result")
        ),
        sa.ForeignKeyConstraint(
            ["package_result_id"],
            ["package_result.id"],
            name=op.f("fk_package_file_package_result_id_package_result"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("package_result_id", "file_result_id", name=op.f("pk_package_file")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "escape_site",
        sa.Column("file_result_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("col", sa.Integer(), nullable=False),
        sa.Column("function", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("line_text", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_result_id"],
            ["file_result.id"],
            name=op.f("fk_escape_site_file_result_id_file_result"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_result_id", "ordinal", name=op.f("pk_escape_site")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE VIEW snapshot_package AS
            SELECT s.id AS snapshot_id, CAST(j.value AS INTEGER) AS package_result_id
            FROM snapshot s
            CROSS JOIN LATERAL json_array_elements_text(CAST(s.package_result_ids AS json)) AS j
            """
        )
    else:
        op.execute(
            """
            CREATE VIEW snapshot_package AS
            SELECT s.id AS snapshot_id, CAST(j.value AS INTEGER) AS package_result_id
            FROM snapshot s, json_each(s.package_result_ids) AS j
            """
        )


def downgrade() -> None:
    """Drop everything."""
    op.execute("DROP VIEW snapshot_package")
    for table in (
        "escape_site",
        "package_file",
        "file_result",
        "package_result",
        "snapshot",
        "git_commit",
        "repository",
    ):
        op.drop_table(table)
