"""`flask db ...` (Flask-Migrate) without importing it, and Alembic, when the app starts.

Importing Flask-Migrate imports Alembic: a third of a second of every command's start-up, for
the few that migrate. The app gets a stand-in ``db`` command group and a stand-in
``app.extensions["migrate"]``; the first use of either (running ``flask db ...``, or Flask-Migrate's
functions such as ``upgrade()`` called in an app context) sets up Flask-Migrate for real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import Flask


def init_app(app: Flask, db: Any, directory: Path) -> None:
    """Register ``flask db`` and the extension, both set up on first use."""
    deferred = _Deferred(app, db, directory)
    app.extensions["migrate"] = deferred
    app.cli.add_command(_DbCommand(deferred))


class _Deferred:
    """Stands for Flask-Migrate's extension until something reads it."""

    def __init__(self, app: Flask, db: Any, directory: Path) -> None:
        self._app = app
        self._db = db
        self._directory = directory

    def load(self) -> Any:
        """Set Flask-Migrate up on the app (it replaces this stand-in) and return its extension."""
        from flask_migrate import Migrate

        Migrate(self._app, self._db, directory=str(self._directory))
        return self._app.extensions["migrate"]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.load(), name)


class _DbCommand(click.Group):
    """``flask db``: Flask-Migrate's command group, imported when it runs."""

    def __init__(self, deferred: _Deferred) -> None:
        super().__init__("db", help="Perform database migrations.", short_help="Perform database migrations.")
        self._deferred = deferred

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        """Flask-Migrate's own context: the rest of the command runs on its group."""
        self._deferred.load()
        from flask_migrate.cli import db

        return db.make_context(info_name, args, parent=parent, **extra)
