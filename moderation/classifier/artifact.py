"""Saving and loading the trained Pipeline (skops) with its JSON sidecar.

scikit-learn, scipy and skops are imported only by the functions that need them (saving,
loading the Pipeline): a process that serves the compiled form (:mod:`.serving`) never
imports them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import PROJECT_ROOT

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)

DEFAULT_MODEL = PROJECT_ROOT / "models" / "classifier.skops"
# Types of our own that the artifact may contain; anything else unknown to skops is refused.
TRUSTED_PREFIXES = ("moderation.classifier.",)


class ModelError(RuntimeError):
    """The artifact is missing, corrupt or made by another scikit-learn."""


def sidecar_path(path: Path) -> Path:
    """The JSON file next to the artifact."""
    return path.with_suffix(".json")


def library_versions() -> dict[str, str]:
    """Versions that must match between training and serving."""
    import scipy
    import sklearn
    import skops

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "skops": skops.__version__,
    }


def save(pipeline: Pipeline, path: Path, metadata: dict[str, Any]) -> None:
    """Write the artifact and its sidecar (sidecar last, so a half-written pair reads as stale),
    then its compiled scoring form (see :mod:`.serving`)."""
    import skops.io as sio

    from . import serving

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".skops.tmp")
    sio.dump(pipeline, tmp, compression=zipfile.ZIP_DEFLATED)
    tmp.replace(path)
    metadata = {**metadata, "artifact_sha256": file_sha256(path)}
    sidecar_path(path).write_text(json.dumps(metadata, indent=2, sort_keys=False) + "\n")
    classifier = Classifier(pipeline, tuple(metadata["categories"]), metadata["model_version"], metadata)
    log.info("%s", serving.compile_form(path, classifier, metadata["artifact_sha256"])[1])


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes (the sidecar records the artifact's)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_metadata(path: Path) -> dict[str, Any]:
    """The sidecar, or ModelError when it is missing or unreadable."""
    side = sidecar_path(path)
    try:
        return json.loads(side.read_text())
    except FileNotFoundError:
        raise ModelError(f"no model metadata at {side}: run `flask model train`") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"unreadable model metadata {side}: {exc}") from None


@dataclass
class Classifier:
    """A loaded model: per-category probabilities for texts."""

    pipeline: Pipeline
    categories: tuple[str, ...]
    version: str
    metadata: dict[str, Any]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """The Pipeline's probabilities, computed step by step.

        Same result as ``pipeline.predict_proba``, without FeatureUnion's
        joblib dispatch, which costs more than the features themselves when
        scoring one comment at a time.
        """
        import scipy.sparse as sp

        steps = self.pipeline.named_steps
        prepared = steps["prepare"].transform(texts)
        union = steps["features"]
        blocks = [transformer.transform(prepared) for _, transformer in union.transformer_list]
        return steps["model"].predict_proba(sp.hstack(blocks, format="csr"))

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Probabilities per category for each text."""
        if not texts:
            return []
        probs = self.predict_proba(list(texts))
        return [dict(zip(self.categories, map(float, row), strict=True)) for row in probs]


def verify_hash(path: Path, metadata: dict[str, Any]) -> None:
    """The artifact's bytes are the ones its sidecar records (ModelError otherwise)."""
    expected = metadata.get("artifact_sha256")
    if not Path(path).exists():
        raise ModelError(f"no model at {path}: run `flask model train`")
    if expected and file_sha256(path) != expected:
        raise ModelError(f"{path} does not match the sha256 its sidecar records: artifact and sidecar differ")


def load(path: Path = DEFAULT_MODEL) -> Classifier:
    """Load an artifact; refuse one made by another scikit-learn version or with unknown types."""
    import sklearn
    import skops.io as sio

    path = Path(path)
    metadata = read_metadata(path)
    made_with = metadata.get("versions", {}).get("scikit-learn")
    if made_with != sklearn.__version__:
        raise ModelError(
            f"{path} was made with scikit-learn {made_with}, this is {sklearn.__version__}: "
            "rebuild it with `make setup` or `flask model train`"
        )
    if not path.exists():
        raise ModelError(f"no model at {path}: run `flask model train`")
    try:
        untrusted = sio.get_untrusted_types(file=path)
        foreign = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
        if foreign:
            raise ModelError(f"{path} contains types this service does not trust: {foreign}")
        pipeline = sio.load(path, trusted=untrusted)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"cannot load {path}: {exc.__class__.__name__}: {exc}") from None
    union = pipeline.named_steps["features"]
    if union.transformer_weights:
        raise ModelError(f"{path}: feature weights are not supported by the fast scoring path")
    categories = tuple(metadata["categories"])
    return Classifier(pipeline, categories, metadata["model_version"], metadata)
