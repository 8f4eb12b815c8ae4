"""The per-app services (database, rules, decider) that views reach through ``services()``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine, MetaData
from sqlalchemy.orm import Session, sessionmaker

from ..database import make_engine, make_sessionmaker
from ..decide import Decider
from ..rules import RulesReloader
from ..store import Base


@dataclass
class Services:
    """What one app (one process) shares between requests."""

    engine: Engine
    sessions: sessionmaker[Session]
    rules: RulesReloader
    decider: Decider

    @property
    def metadata(self) -> MetaData:
        """The tables, for Alembic."""
        return Base.metadata


def init_app(app: Flask) -> Services:
    """Create the engine, load the rules (failing loudly if they are broken), register."""
    engine = make_engine(app.config["DATABASE_URL"], app.config["DB_POOL_SIZE"])
    rules = RulesReloader(app.config["MODERATION_RULES"], app.config["RULES_RELOAD_SECONDS"])
    svc = Services(engine, make_sessionmaker(engine), rules, Decider(rules))
    app.extensions["moderation"] = svc
    return svc


def services(app: Any = None) -> Services:
    """The services of the current app."""
    return (app or current_app).extensions["moderation"]
