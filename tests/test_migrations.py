"""Alembic migrations build the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect, text

from moderation.models import Base
from moderation.web.extension import services


def test_migrated_schema_matches_models(app: Flask) -> None:
    engine = services(app).engine
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    tables = set(inspect(engine).get_table_names())
    assert {
        "comments",
        "authors",
        "articles",
        "audit_log",
        "api_keys",
        "reports",
        "reporters",
        "author_notes",
        "webhook_deliveries",
        "alembic_version",
    } <= tables
    assert "status_changes" not in tables


def test_flask_db_upgrade_is_idempotent(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output


def test_upgrade_keeps_data_stored_before_the_queue_existed(tmp_path) -> None:
    """A database at the first schema, with comments in it, upgrades without losing them."""
    from flask_migrate import upgrade

    from moderation.config import PROJECT_ROOT
    from moderation.web import create_app

    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app(
        {"DATABASE_URL": url, "MODERATION_MODEL": "none", "SECRET_KEY": "t", "LOG_LEVEL": "WARNING"}
    )
    migrations = str(PROJECT_ROOT / "migrations")
    with app.app_context():
        upgrade(directory=migrations, revision="0001")
    engine = services(app).engine
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO authors (id, site_id, first_seen_at, comment_count, rejected_count) "
                "VALUES (1, 'u', '2024-01-01', 2, 1)"
            )
        )
        for cid, status in ((1, "rejected"), (2, "flagged")):
            conn.execute(
                text(
                    "INSERT INTO comments (id, site_id, text, text_sha256, author_id, status, verdict, "
                    "rules_version, created_at, updated_at) VALUES "
                    f"({cid}, 'c{cid}', 'hello', 'x', 1, '{status}', '{{}}', 'v', '2024-01-01', '2024-01-01')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO status_changes (comment_id, from_status, to_status, actor, created_at) "
                    f"VALUES ({cid}, NULL, '{status}', 'rules:v', '2024-01-01')"
                )
            )
    with app.app_context():
        upgrade(directory=migrations)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT site_id, status, visible, queue FROM comments ORDER BY id")).all()
        history = conn.execute(text("SELECT comment_id, action, to_status FROM audit_log ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("c1", "rejected", False, None), ("c2", "flagged", True, "flagged")]
    assert [tuple(h) for h in history] == [(1, "verdict", "rejected"), (2, "verdict", "flagged")]
    engine.dispose()
