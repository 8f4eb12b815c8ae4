"""The Flask application factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import flask
import orjson
from flask import Flask, redirect, url_for
from flask.json.provider import DefaultJSONProvider
from werkzeug.sansio.response import Response

from .. import jsontext
from ..config import INSTANCE_DIR, PROJECT_ROOT, Config
from . import extension


class _OrderedJSON(DefaultJSONProvider):
    """JSON responses keep their keys in the order the code builds them, written by orjson
    (compact, UTF-8; dates still as HTTP dates) unless the app is in debug mode (indented)."""

    sort_keys = False

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if self._app.debug or self.compact is False:
            return super().response(*args, **kwargs)
        body = jsontext.dumps_bytes(
            self._prepare_response_obj(args, kwargs), self.default, orjson.OPT_PASSTHROUGH_DATETIME
        )
        response_class = cast(type[flask.Response], self._app.response_class)  # a Flask app's
        return response_class(body + b"\n", mimetype=self.mimetype)


def create_app(test_config: Mapping[str, Any] | None = None, *, web: bool = True) -> Flask:
    """Build the app from the environment, or from ``test_config`` overrides in tests.

    ``web=False`` builds only what `flask score` needs (the services and that command): none of
    the whole app's pages, API or other commands, so it starts sooner.
    """
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_mapping(Config.from_env())
    if test_config:
        app.config.from_mapping(test_config)
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_REQUEST_BYTES"]
    app.json = _OrderedJSON(app)
    logging.basicConfig(
        level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    svc = extension.init_app(app)
    if not web:
        from .score_cli import score_cli

        app.cli.add_command(score_cli)
        return app

    from . import errors, migrations, ratelimit, schemas, security

    migrations.init_app(app, svc, PROJECT_ROOT / "migrations")
    errors.init_app(app)
    schemas.init_app(app)  # path converters and the streamed-body limit, before any route
    security.init_app(app)
    ratelimit.init_app(app)  # per-key limits on the API blueprints

    from . import (
        api,
        auth,
        cli,
        featured_api,
        moderation_api,
        review,
        review_author,
        review_featured,
        review_live,
        review_search,
        rules_admin,
        rules_api,
        suspension_api,
    )

    app.register_blueprint(api.bp)
    app.register_blueprint(moderation_api.bp)
    app.register_blueprint(suspension_api.bp)
    app.register_blueprint(rules_api.bp)
    app.register_blueprint(featured_api.bp)
    auth.init_app(app)
    auth.csrf.exempt(api.bp)  # the JSON API authenticates with bearer keys, not cookies
    auth.csrf.exempt(moderation_api.bp)
    auth.csrf.exempt(suspension_api.bp)
    auth.csrf.exempt(rules_api.bp)
    auth.csrf.exempt(featured_api.bp)
    app.register_blueprint(review.bp)
    for blueprint in (review_search.bp, review_author.bp, review_live.bp, rules_admin.bp, review_featured.bp):
        app.register_blueprint(blueprint)
    app.add_url_rule("/", "index", lambda: redirect(url_for("review.home")))
    # Browsers ask for /favicon.ico on their own; the pages name the SVG icon too.
    app.add_url_rule(
        "/favicon.ico", "favicon", lambda: redirect(url_for("static", filename="favicon.svg"), 301)
    )
    cli.init_app(app)
    return app


# The flask CLI's own options that take a value (`flask --app app score ...`).
_VALUE_OPTIONS = frozenset({"-A", "--app", "-e", "--env-file"})


def cli_command(argv: Sequence[str]) -> str | None:
    """The command this process runs when it is the flask CLI (``score`` for
    `flask --app app score in.jsonl`); None for anything else (gunicorn, tests, python -c)."""
    if not argv or not (Path(argv[0]).name == "flask" or argv[0].endswith("flask/__main__.py")):
        return None
    args = iter(argv[1:])
    for arg in args:
        if arg in _VALUE_OPTIONS:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None
