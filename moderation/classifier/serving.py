"""Loading a model as a serving process does: from its compiled form when that is current.

The compiled form (:mod:`.compiled`) is kept beside the artifact under the artifact's sha256,
so it follows whatever artifact is there. Training, ``flask model check`` (which ``make
setup`` runs) and ``flask model promote`` write it. A process that finds it missing or
stale (the artifact was retrained or replaced, or the form was written by an older version of
this code) logs why, loads the Pipeline with scikit-learn instead — seconds rather than
milliseconds, and scikit-learn stays in memory — derives the form, checks it against the
Pipeline and saves it for the next start (when the folder is writable). Either way it then
serves the compiled form: the same scores. A Pipeline the form cannot reproduce is served as
it is.

Serving from the compiled form does not import scikit-learn, so it does not refuse an artifact
made with another scikit-learn version: the form was derived, and checked, where the Pipeline
loaded. Without a current form, :func:`artifact.load` still refuses it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from . import artifact, compiled

log = logging.getLogger(__name__)

Model = artifact.Classifier | compiled.CompiledClassifier


def load(path: Path) -> Model:
    """The model at ``path``, ready to score (ModelError when it cannot be used)."""
    path = Path(path)
    metadata = artifact.read_metadata(path)
    if not path.is_file():
        raise artifact.ModelError(f"no model at {path}: run `flask model train`")
    sha256 = artifact.file_sha256(path)
    form_path = compiled.path_for(path)
    try:
        return compiled.CompiledClassifier.from_form(compiled.read(form_path, sha256), metadata)
    except compiled.FormUnavailable as exc:
        reason = str(exc)
    log.warning(
        "scoring form %s is %s: loading %s with scikit-learn to rebuild it (slow)", form_path, reason, path
    )
    model, note = compile_form(path, artifact.load(path), sha256)
    log.warning("%s", note)
    return model


def compile_form(path: Path, classifier: artifact.Classifier, sha256: str) -> tuple[Model, str]:
    """Derive the compiled form of a loaded Pipeline, check it, and save it beside the artifact.

    Returns the model to serve (the compiled form, else the Pipeline) and what was done, to
    report. ``sha256`` is the artifact's, as hashed before the Pipeline was loaded from it.
    """
    form_path = compiled.path_for(path)
    try:
        form = compiled.derive(classifier.pipeline, sha256, artifact.library_versions())
        compiled.check(form, classifier.predict_proba)
        model = compiled.CompiledClassifier.from_form(form, classifier.metadata)
    except (compiled.NotCompilable, compiled.FormUnavailable) as exc:
        return classifier, f"{path}: no compiled scoring form ({exc}); serving the Pipeline"
    if artifact.file_sha256(path) != sha256:  # replaced while it loaded: the form would lie
        return model, f"{path} changed while it loaded: its scoring form was not saved"
    try:
        compiled.write(form_path, form)
    except OSError as exc:
        return model, f"scoring form of {path} not saved ({exc}); serving it from memory"
    return model, f"scoring form of {path} written to {form_path}"


def ensure_form(path: Path, classifier: artifact.Classifier, sha256: str) -> str:
    """Write the compiled form of a loaded artifact unless a current one is there; say which."""
    form_path = compiled.path_for(path)
    try:
        compiled.read(form_path, sha256)
    except compiled.FormUnavailable as exc:
        return f"scoring form {form_path} was {exc}: " + compile_form(path, classifier, sha256)[1]
    return f"scoring form {form_path} is current"
