"""The per-app services (database, rules, verdict pipeline) that views reach through ``services()``."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine, MetaData
from sqlalchemy.orm import Session, sessionmaker

from ..database import make_engine, make_sessionmaker, transaction
from ..models import Base
from ..pipeline import ContributionScorer, Pipeline
from ..rules import RulesReloader
from ..rules.limits import RuleLimits
from ..workflow.audit import Notify
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

    @property
    def metadata(self) -> MetaData:
        """The tables, for Alembic."""
        return Base.metadata

    def transaction(self) -> AbstractContextManager[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        return transaction(self.sessions)


def init_app(app: Flask) -> Services:
    """Create the engine, load the rules (failing loudly if they are broken), register."""
    engine = make_engine(app.config["DATABASE_URL"], app.config["DB_POOL_SIZE"])
    rules = RulesReloader(
        app.config["MODERATION_RULES"],
        app.config["RULES_RELOAD_SECONDS"],
        RuleLimits.from_settings(app.config),
    )
    pipeline = make_pipeline(rules, app.config["MODERATION_MODEL"], app.config["RULES_TIME_BUDGET_MS"])
    pipeline.contribution = load_contribution(app.config["MODERATION_CONTRIBUTION_MODEL"])
    url, secret = app.config["WEBHOOK_URL"], app.config["WEBHOOK_SECRET"]
    if url and not secret:
        raise RuntimeError("WEBHOOK_URL is set but WEBHOOK_SECRET is empty: webhooks must be signed")
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
        make_sessionmaker(engine),
        rules,
        pipeline,
        Notify(bool(url)),
        webhooks,
        app.config["CLAIM_MINUTES"],
    )
    app.extensions["moderation"] = svc
    return svc


def make_pipeline(rules: RulesReloader, model_path: str, time_budget_ms: float = 0.0) -> Pipeline:
    """The verdict pipeline with the configured classifier; a model that fails to load means "hold"."""
    if model_path.strip().lower() in ("", "none", "off"):
        return Pipeline(rules, time_budget_ms=time_budget_ms)
    from ..classifier import artifact

    try:
        classifier = artifact.load(Path(model_path))
    except artifact.ModelError as exc:
        log.error("classifier unavailable, comments will be held for review: %s", exc)
        return Pipeline(rules, None, model_required=True, model_error=str(exc), time_budget_ms=time_budget_ms)
    log.info("classifier %s loaded", classifier.version)
    return Pipeline(rules, classifier, model_required=True, time_budget_ms=time_budget_ms)


def load_contribution(model_path: str) -> ContributionScorer | None:
    """The contribution head, or None when it is off or cannot be loaded (comments are never
    held for it: their verdicts just have no contribution block)."""
    if model_path.strip().lower() in ("", "none", "off"):
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
