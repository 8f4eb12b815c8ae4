"""Settings: declared once, with help text, read from environment variables."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


@dataclass(frozen=True, slots=True)
class Setting:
    """One environment variable the service reads."""

    name: str
    default: Callable[[], Any]
    cast: Callable[[str], Any]
    help: str


def _default_secret_key() -> str:
    # Every process serving one site must share the key: keep it in instance/.
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        lambda: f"sqlite:///{INSTANCE_DIR / 'moderation.db'}",
        str,
        "SQLAlchemy URL of the database; postgresql://user@host/db for PostgreSQL.",
    ),
    Setting(
        "SECRET_KEY",
        _default_secret_key,
        str,
        "Signs moderator sessions; defaults to a random key kept in instance/secret_key.",
    ),
    Setting(
        "MODERATION_RULES",
        lambda: str(PROJECT_ROOT / "rules.yaml"),
        str,
        "Path of the rules file; edits are picked up without a restart.",
    ),
    Setting(
        "MODERATION_MODEL",
        lambda: str(PROJECT_ROOT / "models" / "classifier.skops"),
        str,
        "Path of the trained classifier; 'none' runs on rules alone. If it cannot be loaded, "
        "comments are held for review.",
    ),
    Setting(
        "MODERATION_CONTRIBUTION_MODEL",
        lambda: str(PROJECT_ROOT / "models" / "contribution.skops"),
        str,
        "Path of the contribution head (candidates to feature); 'none' turns it off. If it cannot be "
        "loaded, verdicts simply have no contribution block.",
    ),
    Setting(
        "MODEL_RELOAD_SECONDS",
        lambda: 5.0,
        float,
        "How often a process asks the database, in a background thread, which model is live "
        "(`flask model promote`/`rollback`) and loads it when it changed; 0 never asks again "
        "after start (one-off tools).",
    ),
    Setting(
        "MODEL_CANDIDATES_DIR",
        lambda: str(INSTANCE_DIR / "models"),
        str,
        "Where `flask model train` writes candidate models (`<version>.skops` and its sidecar); "
        "a promoted candidate must be at the same path, relative to the project, on every machine.",
    ),
    Setting(
        "RULES_RELOAD_SECONDS",
        lambda: 2.0,
        float,
        "How often a process checks, in a background thread, whether the rules files changed; "
        "0 checks on every use in the caller's thread (tests and one-off tools).",
    ),
    Setting(
        "RULES_TIME_BUDGET_MS",
        lambda: 250.0,
        float,
        "Longest time the rules may spend on one comment; past it the comment is held for review "
        "(0 turns the budget off).",
    ),
    Setting(
        "RULES_MAX_FILE_BYTES",
        lambda: 1_000_000,
        int,
        "Largest rules file or word-list file accepted, in bytes.",
    ),
    Setting(
        "WORDLIST_MAX_ENTRIES",
        lambda: 2_000,
        int,
        "Most entries one words condition may compile (its list plus its own entries).",
    ),
    Setting(
        "WORDLIST_MAX_ENTRY_CHARS",
        lambda: 64,
        int,
        "Longest word-list entry, in characters.",
    ),
    Setting(
        "WORDLISTS_MAX_TOTAL_CHARS",
        lambda: 25_000,
        int,
        "Characters of all word-list entries the rules compile, added up over every words condition.",
    ),
    Setting(
        "WEBHOOK_URL",
        lambda: "",
        str,
        "Where comment.status_changed events are POSTed; empty turns webhooks off.",
    ),
    Setting(
        "WEBHOOK_SECRET",
        lambda: "",
        str,
        "Key for the X-Moderation-Signature HMAC-SHA256 of each webhook body; required with WEBHOOK_URL.",
    ),
    Setting(
        "WEBHOOK_TIMEOUT",
        lambda: 5.0,
        float,
        "Seconds one webhook delivery may take in all (connect, send, the site's answer) before it "
        "counts as failed.",
    ),
    Setting(
        "WEBHOOK_RETRY_SECONDS",
        lambda: 5.0,
        float,
        "First retry delay of a failed webhook; it doubles on each failure, up to an hour.",
    ),
    Setting(
        "WEBHOOK_MAX_ATTEMPTS",
        lambda: 12,
        int,
        "Attempts before a delivery is marked failed (`flask webhooks retry` re-queues it).",
    ),
    Setting(
        "CLAIM_MINUTES",
        lambda: 5.0,
        float,
        "How long taking a queue item keeps other moderators off it.",
    ),
    Setting(
        "MAX_TEXT_LENGTH",
        lambda: 10_000,
        int,
        "Longest comment text accepted, in characters (longer gets 413).",
    ),
    Setting(
        "MAX_REQUEST_BYTES",
        lambda: 1_000_000,
        int,
        "Largest request body accepted, in bytes (larger gets 413).",
    ),
    Setting(
        "REDIS_URL",
        lambda: "",
        str,
        "Redis for limits shared by every process (failed log-ins, API rate limits); empty keeps them "
        "per process.",
    ),
    Setting(
        "API_RATE_LIMIT",
        lambda: 6000,
        int,
        "Requests one API key may make per API_RATE_WINDOW_SECONDS before getting 429 (0: no "
        "limit); `flask api-key set-limit` overrides it per key. Counted in Redis with REDIS_URL.",
    ),
    Setting(
        "API_RATE_WINDOW_SECONDS",
        lambda: 60.0,
        float,
        "The window API_RATE_LIMIT counts in.",
    ),
    Setting(
        "LOGIN_MAX_FAILURES",
        lambda: 5,
        int,
        "Failed log-ins allowed per username and address before the review page refuses more.",
    ),
    Setting(
        "LOGIN_WINDOW_SECONDS",
        lambda: 900.0,
        float,
        "How long failed log-ins are remembered.",
    ),
    Setting(
        "SESSION_COOKIE_SECURE",
        lambda: False,
        _boolean,
        "Send the review page's session cookie over HTTPS only; turn on when the service is served "
        "over HTTPS (off by default so http://127.0.0.1:5000 works).",
    ),
    Setting(
        "SESSION_LIFETIME_HOURS",
        lambda: 12.0,
        float,
        "How long a review-page log-in lasts before the moderator must log in again.",
    ),
    Setting(
        "API_KEY_CACHE_SECONDS",
        lambda: 5.0,
        float,
        "How long a process trusts a verified API key before checking it again; a key revoked "
        "elsewhere stops working within this time (0 checks every request).",
    ),
    Setting("DB_POOL_SIZE", lambda: 5, int, "Database connections per process (PostgreSQL)."),
    Setting(
        "LOG_LEVEL", lambda: "INFO", str, "Python logging level. Comment text and keys are never logged."
    ),
)


class Config:
    """The service's configuration: every setting in SETTINGS, read from environment variables."""

    settings = SETTINGS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Every setting, from the environment or its default."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in cls.settings:
            raw = environ.get(setting.name)
            try:
                values[setting.name] = setting.default() if raw in (None, "") else setting.cast(raw)
            except ValueError as exc:
                raise ValueError(f"{setting.name}: {exc}") from exc
        return values
