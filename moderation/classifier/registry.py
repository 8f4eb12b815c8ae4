"""Which classifier is live, kept in the database so every process on every machine agrees.

``flask model promote`` appends a row naming the artifact (path and sha256); ``flask model
rollback`` appends one returning to the model that was live before. The newest row is the live
model; with no row (or a row without a path) each process serves its configured
``MODERATION_MODEL``. Every process polls the newest row (:mod:`moderation.classifier.live`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import PROJECT_ROOT
from ..models import AuditEntry, ModelVersion
from . import artifact, serving


class RegistryError(ValueError):
    """A promotion or roll-back cannot be done as asked."""


@dataclass(frozen=True, slots=True)
class LiveEntry:
    """The newest row, as a process needs it to load the model it names."""

    id: int
    version: str | None
    path: str | None
    sha256: str | None


def stored_path(path: Path) -> str:
    """The path as stored: relative to the project when inside it, so machines with the
    project in another folder still find it."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(resolved)


def resolve(stored: str) -> Path:
    """Where a stored path is on this machine."""
    path = Path(stored)
    return path if path.is_absolute() else PROJECT_ROOT / path


def live_entry(session: Session) -> LiveEntry | None:
    """The newest row, or None when nothing was ever promoted."""
    row = session.scalar(select(ModelVersion).order_by(ModelVersion.id.desc()).limit(1))
    if row is None:
        return None
    return LiveEntry(row.id, row.version, row.path, row.sha256)


def history(session: Session, limit: int = 20) -> list[ModelVersion]:
    """The newest rows first."""
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc()).limit(limit)))


def _audit(session: Session, action: str, actor: str, row: ModelVersion, before: ModelVersion | None) -> None:
    session.add(
        AuditEntry(
            action=action,
            actor=actor,
            details={
                "version": row.version,
                "path": row.path,
                "sha256": row.sha256,
                "previous_version": before.version if before is not None else None,
                "model_versions_id": row.id,
            },
        )
    )


def _newest_locked(session: Session) -> ModelVersion | None:
    """The newest row, locked on PostgreSQL so two promotions at once queue rather than both
    naming the same predecessor."""
    query = select(ModelVersion).order_by(ModelVersion.id.desc()).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalar(query)


def promote(session: Session, path: Path, actor: str) -> ModelVersion:
    """Make the artifact at ``path`` live: it must match its sidecar and load here first."""
    path = Path(path)
    metadata = artifact.read_metadata(path)
    artifact.verify_hash(path, metadata)
    classifier = artifact.load(path)  # refuse what this process could not serve
    sha256 = artifact.file_sha256(path)
    serving.ensure_form(path, classifier, sha256)  # so every process starts on it quickly
    current = _newest_locked(session)
    row = ModelVersion(
        version=classifier.version,
        path=stored_path(path),
        sha256=sha256,
        action="promote",
        previous_id=current.id if current is not None and current.path is not None else None,
        promoted_by=actor,
    )
    session.add(row)
    session.flush()
    _audit(session, "model-promote", actor, row, current)
    return row


def rollback(session: Session, actor: str) -> ModelVersion:
    """Return to the model that was live before the current one (the configured one at the start)."""
    current = _newest_locked(session)
    if current is None or current.path is None:
        raise RegistryError("nothing to roll back: the configured MODERATION_MODEL is live")
    target = session.get(ModelVersion, current.previous_id) if current.previous_id else None
    row = ModelVersion(
        version=target.version if target else None,
        path=target.path if target else None,
        sha256=target.sha256 if target else None,
        action="rollback",
        previous_id=target.previous_id if target else None,
        promoted_by=actor,
    )
    session.add(row)
    session.flush()
    _audit(session, "model-rollback", actor, row, current)
    return row
