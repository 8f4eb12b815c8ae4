"""The Flask application factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, redirect, url_for
from flask_migrate import Migrate

from ..config import INSTANCE_DIR, PROJECT_ROOT, Config
from . import errors, extension, ratelimit, schemas, security


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment, or from ``test_config`` overrides in tests."""
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_mapping(Config.from_env())
    if test_config:
        app.config.from_mapping(test_config)
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_REQUEST_BYTES"]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logging.basicConfig(
        level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    svc = extension.init_app(app)
    Migrate(app, svc, directory=str(PROJECT_ROOT / "migrations"))
    errors.init_app(app)
    schemas.init_app(app)  # path converters and the streamed-body limit, before any route
    security.init_app(app)
    ratelimit.init_app(app)  # per-key limits on the API blueprints

    from . import api, auth, cli, moderation_api, review

    app.register_blueprint(api.bp)
    app.register_blueprint(moderation_api.bp)
    auth.init_app(app)
    auth.csrf.exempt(api.bp)  # the JSON API authenticates with bearer keys, not cookies
    auth.csrf.exempt(moderation_api.bp)
    app.register_blueprint(review.bp)
    app.add_url_rule("/", "index", lambda: redirect(url_for("review.home")))
    cli.init_app(app)
    return app
