"""The per-app services (database, rules, verdict pipeline, live model) that views reach through
``services()``."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import Session, sessionmaker

from ..classifier.live import LiveModel
from ..database import make_engine, make_sessionmaker, transaction
from ..models import Base
from ..pipeline import ContributionScorer, Pipeline
from ..rules import RulesReloader
from ..rules.limits import RuleLimits
from ..workflow.audit import Notify
from ..workflow.grouping import LEADERS, Grouper
from ..workflow.webhooks import WebhookConfig

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What one app (one process) shares between requests."""

    engine: Engine
    sessions: sessionmaker[Session]
    rules: RulesReloader
    pipeline: Pipeline
    notify: Notify
    webhooks: WebhookConfig | None
    claim_minutes: float
    models: LiveModel
    submissions: Grouper

    @property
    def metadata(self) -> MetaData:
        """The tables, for Alembic."""
        return Base.metadata

    def transaction(self) -> AbstractContextManager[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        return transaction(self.sessions)


def init_app(app: Flask) -> Services:
    """Create the engine, load the rules (failing loudly if they are broken), register."""
    url, secret = app.config["WEBHOOK_URL"], app.config["WEBHOOK_SECRET"]
    if url and not secret:  # refused before anything opens a connection
        raise RuntimeError("WEBHOOK_URL is set but WEBHOOK_SECRET is empty: webhooks must be signed")
    engine = make_engine(app.config["DATABASE_URL"], app.config["DB_POOL_SIZE"])
    rules = RulesReloader(
        app.config["MODERATION_RULES"],
        app.config["RULES_RELOAD_SECONDS"],
        RuleLimits.from_settings(app.config),
    )
    engine_sessions = make_sessionmaker(engine)
    # The model the database names as live, else MODERATION_MODEL (loaded here, then followed).
    pipeline = Pipeline(rules, time_budget_ms=app.config["RULES_TIME_BUDGET_MS"])
    models = LiveModel(
        pipeline, engine_sessions, app.config["MODERATION_MODEL"], app.config["MODEL_RELOAD_SECONDS"]
    )
    models.check()
    app.before_request(models.ensure_watching)
    # Disposing the engine (shutting down, or a test done with the app) stops the polling too.
    event.listen(engine, "engine_disposed", lambda _engine: models.close())
    pipeline.contribution = load_contribution(app.config["MODERATION_CONTRIBUTION_MODEL"])
    webhooks = None
    if url:
        webhooks = WebhookConfig(
            url,
            secret,
            timeout=app.config["WEBHOOK_TIMEOUT"],
            max_attempts=app.config["WEBHOOK_MAX_ATTEMPTS"],
            base_delay=app.config["WEBHOOK_RETRY_SECONDS"],
        )
    svc = Services(
        engine,
        engine_sessions,
        rules,
        pipeline,
        Notify(bool(url)),
        webhooks,
        app.config["CLAIM_MINUTES"],
        models,
        # SQLite has one writer at a time: a second group in the process would only wait for
        # the first one's lock, in the driver's sleeps.
        Grouper(engine_sessions, pipeline, leaders=1 if engine.dialect.name == "sqlite" else LEADERS),
    )
    app.extensions["moderation"] = svc
    return svc


def contribution_configured(model_path: str) -> bool:
    """Whether MODERATION_CONTRIBUTION_MODEL asks for a contribution head at all."""
    return model_path.strip().lower() not in ("", "none", "off")


def load_contribution(model_path: str) -> ContributionScorer | None:
    """The contribution head, or None when it is off or cannot be loaded (comments are never
    held for it: their verdicts just have no contribution block)."""
    if not contribution_configured(model_path):
        return None
    from ..classifier import artifact, contribution

    try:
        model = contribution.load(Path(model_path))
    except artifact.ModelError as exc:
        log.error("contribution model unavailable, verdicts will have no contribution block: %s", exc)
        return None
    log.info("contribution model %s loaded", model.version)
    return model


def services(app: Any = None) -> Services:
    """The services of the current app."""
    return (app or current_app).extensions["moderation"]
