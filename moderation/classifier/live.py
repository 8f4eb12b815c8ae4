"""Keeps a process's classifier on the one the database names as live (see ``registry``).

A background thread reads the newest ``model_versions`` row every ``interval`` seconds. When it
names another artifact, the thread checks the file's sha256 against the row, loads it, and only
then hands it to the verdict pipeline in one attribute write: requests never wait for a load,
and a run that started keeps the model it started with. An artifact that is missing, differs
from the promoted bytes or does not load leaves the old model serving, and the reason is shown
in ``/api/v1/health``; the file is tried again once it changes on disk.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..pipeline import Pipeline
from ..polling import Poller
from . import artifact, registry, serving

log = logging.getLogger(__name__)

# What a process serves: the configured model (None) or a promoted artifact (path, sha256).
Target = tuple[str, str | None] | None
NO_MODEL = ("", "none", "off")
# Where the model a process serves comes from: MODERATION_MODEL, or `flask model promote`/`rollback`.
MODEL_SOURCES = ("configured", "promoted")


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1)
    return (st.st_mtime_ns, st.st_size)


class LiveModel(Poller):
    """The classifier of one process, following the database's choice."""

    thread_name = "model-reloader"

    def __init__(
        self, pipeline: Pipeline, sessions: sessionmaker[Session], configured: str, interval: float = 5.0
    ) -> None:
        super().__init__(interval)
        self.pipeline = pipeline
        self.sessions = sessions
        self.configured = configured
        self.source = "configured"  # or "promoted"
        self.last_error: str | None = None  # why the live choice is not the model serving here
        self._target: Target = None
        self._loaded = False
        self._failed: tuple[Target, tuple[int, int]] | None = None  # a target that failed, and its file

    @property
    def version(self) -> str | None:
        """The version serving in this process."""
        scorer = self.pipeline.scorer
        return scorer.version if scorer is not None else None

    @property
    def promoted_path(self) -> str | None:
        """The stored path of the promoted artifact serving here (None: the configured model)."""
        return self._target[0] if self._target is not None else None

    def check(self) -> bool:
        """Follow the database now; True when another model was taken."""
        with self._lock:
            try:
                with self.sessions() as session:
                    entry = registry.live_entry(session)
            except SQLAlchemyError as exc:
                # Not migrated yet, or the database is away: serve what we have (the configured
                # model at start) and ask again next round.
                if not self._loaded:
                    self._load_configured(startup=True)
                log.debug("model registry unreadable: %s", exc.__class__.__name__)
                return False
            target: Target = (entry.path, entry.sha256) if entry is not None and entry.path else None
            if self._loaded and target == self._target:
                return False
            if target is None:
                return self._load_configured(startup=not self._loaded)
            assert entry is not None and entry.path is not None
            return self._load_promoted(target, entry.path, entry.sha256, entry.version)

    def _load_configured(self, startup: bool) -> bool:
        if self.configured.strip().lower() in NO_MODEL:
            self._swap(None, required=False, source="configured", target=None)
            return True
        try:
            classifier = serving.load(Path(self.configured))
        except artifact.ModelError as exc:
            if startup:
                log.error("classifier unavailable, comments will be held for review: %s", exc)
                self.pipeline.model_required = True
                self.pipeline.model_error = str(exc)
                self._target, self._loaded, self.source = None, True, "configured"
            else:
                self.last_error = f"the configured model could not be loaded, keeping {self.version}: {exc}"
                log.error("%s", self.last_error)
            return False
        self._swap(classifier, required=True, source="configured", target=None)
        return True

    def _load_promoted(self, target: Target, stored: str, sha256: str | None, version: str | None) -> bool:
        path = registry.resolve(stored)
        if self._failed is not None and self._failed == (target, _stamp(path)):
            return False  # the same file failed before; try again when it changes
        try:
            if not path.is_file():
                raise artifact.ModelError(f"no file at {path} on this machine")
            if sha256 and artifact.file_sha256(path) != sha256:
                raise artifact.ModelError(f"{path} is not the file that was promoted (sha256 differs)")
            classifier = serving.load(path)
        except artifact.ModelError as exc:
            error = f"promoted model {version} not loaded: {exc}"
            if not self._loaded:  # at start there is no old model to keep: serve the configured one
                self._load_configured(startup=True)
            self._failed, self.last_error = (target, _stamp(path)), error
            log.error("%s; serving %s", error, self.version or "no model")
            return False
        self._swap(classifier, required=True, source="promoted", target=target)
        return True

    def _swap(self, classifier: serving.Model | None, required: bool, source: str, target: Target) -> None:
        before = self.version
        # The scorer first: a run reads it once, and never sees a required model missing.
        self.pipeline.scorer = classifier
        self.pipeline.model_required = required
        self.pipeline.model_error = None
        self._target, self._loaded, self.source = target, True, source
        self.last_error, self._failed = None, None
        now = classifier.version if classifier is not None else None
        if before != now:
            log.info("classifier %s -> %s (%s)", before or "none", now or "none", source)
