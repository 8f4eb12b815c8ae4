"""The training recipe: every data file (with its sha256), rows used, label mapping, weights, parameters.

A recipe is a JSON file (the shipped one is ``models/recipe.json``). ``flask model train --recipe``
reads it, checks that every file is there with the recorded hash, draws the fixed splits, weighs
the sources and trains; ``--record`` writes the hashes and row counts it found back into the file
(for a new or changed recipe). Paths of public data sets are relative to ``datasets_root`` (by
default ``../shared/datasets`` beside the project), corpus paths to the project root.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..categories import SCORED_CATEGORIES
from ..config import PROJECT_ROOT
from .artifact import file_sha256
from .datasets import DatasetError, Example
from .sources import MAPPINGS, READERS, SPLITS, fixed_split

DEFAULT_RECIPE = PROJECT_ROOT / "models" / "recipe.json"
DEFAULT_DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"


class RecipeError(DatasetError):
    """A recipe is malformed, or names a file that is missing or changed."""


@dataclass
class Source:
    """One data set in a recipe."""

    name: str
    reader: str
    files: list[dict[str, Any]]
    root: str = "datasets"  # "datasets" (datasets_root) or "project" (the repository)
    weight: dict[str, float] = field(default_factory=lambda: {"toxic": 1.0, "clean": 1.0})
    train: bool = True
    licence: str = ""
    citation: str = ""
    labels: str = ""
    rows: dict[str, Any] = field(default_factory=dict)


@dataclass
class Recipe:
    """A parsed recipe file."""

    path: Path
    data: dict[str, Any]
    sources: list[Source]
    datasets_root: Path

    @property
    def parameters(self) -> dict[str, Any]:
        """Training parameters (C, min_df, feature sizes, calibration folds)."""
        return dict(self.data.get("parameters", {}))

    @property
    def split(self) -> dict[str, Any]:
        """Salt and percentages of the fixed splits, and which splits train the model."""
        return {
            "salt": "moderation-split-1",
            "test_percent": 20,
            "calibration_percent": 20,
            "train_on": ["train"],
            **self.data.get("split", {}),
        }

    def source(self, name: str) -> Source:
        """A source by name."""
        for source in self.sources:
            if source.name == name:
                return source
        raise RecipeError(f"{self.path}: no source named {name!r}")

    def file_path(self, source: Source, relative: str) -> Path:
        """Where one of a source's files is on this machine."""
        base = PROJECT_ROOT if source.root == "project" else self.datasets_root
        return Path(relative) if Path(relative).is_absolute() else base / relative


def load_recipe(path: Path = DEFAULT_RECIPE, datasets_root: Path | None = None) -> Recipe:
    """Parse a recipe (paths are not checked yet: ``read_sources`` does that)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise RecipeError(f"no recipe at {path}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise RecipeError(f"unreadable recipe {path}: {exc}") from None
    sources = []
    for entry in data.get("sources", []):
        try:
            source = Source(**entry)
        except TypeError as exc:
            raise RecipeError(f"{path}: bad source entry {entry.get('name', '?')!r}: {exc}") from None
        if source.reader not in READERS:
            raise RecipeError(f"{path}: source {source.name!r} has unknown reader {source.reader!r}")
        if not source.files:
            raise RecipeError(f"{path}: source {source.name!r} names no files")
        sources.append(source)
    if not sources:
        raise RecipeError(f"{path}: no sources")
    root = datasets_root or Path(data.get("datasets_root", str(DEFAULT_DATASETS)))
    if not root.is_absolute():
        root = (PROJECT_ROOT / root).resolve()
    return Recipe(path, data, sources, root)


def check_files(recipe: Recipe, names: set[str] | None = None, verify: bool = True) -> None:
    """Every file exists (and, with ``verify``, has the recorded hash); a clear error otherwise."""
    for source in recipe.sources:
        if names is not None and source.name not in names:
            continue
        for entry in source.files:
            path = recipe.file_path(source, entry["path"])
            if not path.is_file():
                where = "the project" if source.root == "project" else f"datasets root {recipe.datasets_root}"
                raise RecipeError(
                    f"missing data file for source {source.name!r}: {path} "
                    f"(recipe {recipe.path}, relative to {where}; pass --datasets DIR)"
                )
            expected = entry.get("sha256")
            if verify and expected:
                actual = file_sha256(path)
                if actual != expected:
                    raise RecipeError(
                        f"{path} has changed: sha256 {actual[:12]}…, the recipe records {expected[:12]}… "
                        "(retrain with --record to accept the new file)"
                    )


def read_source(recipe: Recipe, source: Source) -> list[Example]:
    """Every row of one source, each with its group and key."""
    reader = READERS[source.reader]
    rows: list[Example] = []
    for entry in source.files:
        rows.extend(reader(recipe.file_path(source, entry["path"])))
    return rows


@dataclass
class Split:
    """The rows of every source, split."""

    rows: dict[str, dict[str, list[Example]]]  # source -> split -> rows

    def part(self, split: str, names: list[str] | None = None) -> list[Example]:
        """Rows of one split, from the named sources (default: all)."""
        out: list[Example] = []
        for name, parts in self.rows.items():
            if names is None or name in names:
                out.extend(parts.get(split, []))
        return out


def split_sources(recipe: Recipe, names: set[str] | None = None) -> Split:
    """Read the sources and cut each into the fixed splits (a text seen in training is dropped elsewhere)."""
    params = recipe.split
    rows: dict[str, dict[str, list[Example]]] = {}
    for source in recipe.sources:
        if names is not None and source.name not in names:
            continue
        parts: dict[str, list[Example]] = {s: [] for s in SPLITS}
        for example in read_source(recipe, source):
            split = fixed_split(
                example, params["salt"], int(params["test_percent"]), int(params["calibration_percent"])
            )
            parts[split].append(example)
        rows[source.name] = parts
    return Split(rows)


def counts(rows: list[Example]) -> dict[str, int]:
    """Rows and positives per category."""
    out: dict[str, int] = {"rows": len(rows)}
    for category in SCORED_CATEGORIES:
        out[category] = sum(e.labels.get(category) == 1 for e in rows)
    return out


def training_rows(
    recipe: Recipe, split: Split, parts: list[str] | None = None
) -> tuple[list[Example], np.ndarray, dict[str, Any]]:
    """Training examples (of ``parts``, default the recipe's ``train_on``), weights, and use per source.

    A source's ``weight`` gives the share of the total training weight its toxic and its clean
    rows carry (normalised over all sources), so no source or label skew dominates by size.
    """
    train_on = parts or recipe.split["train_on"]
    chosen: list[tuple[Source, list[Example]]] = []
    for source in recipe.sources:
        if not source.train or source.name not in split.rows:
            continue
        rows = [e for s in train_on for e in split.rows[source.name].get(s, [])]
        chosen.append((source, rows))
    total_share = sum(
        s.weight.get(kind, 0.0)
        for s, rows in chosen
        for kind in ("toxic", "clean")
        if any((e.labels["toxicity"] == 1) == (kind == "toxic") for e in rows)
    )
    n_total = sum(len(rows) for _, rows in chosen)
    examples: list[Example] = []
    weights: list[float] = []
    used: dict[str, Any] = {}
    for source, rows in chosen:
        by_kind = Counter("toxic" if e.labels["toxicity"] == 1 else "clean" for e in rows)
        for example in rows:
            kind = "toxic" if example.labels["toxicity"] == 1 else "clean"
            share = source.weight.get(kind, 0.0)
            if share <= 0:
                continue
            examples.append(example)
            weights.append(share * n_total / (total_share * by_kind[kind]))
        used[source.name] = {
            "train_rows": {k: by_kind[k] for k in ("toxic", "clean")},
            "row_weight": {
                k: round(source.weight.get(k, 0.0) * n_total / (total_share * by_kind[k]), 4)
                for k in ("toxic", "clean")
                if by_kind[k]
            },
        }
    return examples, np.asarray(weights), used


def row_counts(split: Split) -> dict[str, dict[str, int]]:
    """Rows per source and split (recorded in the recipe, checked on retraining)."""
    return {name: {s: len(parts[s]) for s in SPLITS} for name, parts in split.rows.items()}


def refresh_corpus(recipe: Recipe) -> None:
    """Point corpus sources at every ``*.jsonl`` in their folder (for --record: new files join)."""
    for index, source in enumerate(recipe.sources):
        if source.reader != "corpus":
            continue
        folder = recipe.file_path(source, str(Path(source.files[0]["path"]).parent))
        known = {entry["path"]: entry for entry in source.files}
        names = [
            str(p.relative_to(PROJECT_ROOT)) if p.is_relative_to(PROJECT_ROOT) else str(p)
            for p in sorted(folder.glob("*.jsonl"))
        ]
        source.files = [known.get(name, {"path": name}) for name in names]
        recipe.data["sources"][index]["files"] = source.files


def record(recipe: Recipe, split: Split) -> dict[str, Any]:
    """The recipe with current hashes, row counts and label mappings filled in (for --record)."""
    data = json.loads(json.dumps(recipe.data))
    counted = row_counts(split)
    for entry in data["sources"]:
        source = recipe.source(entry["name"])
        for file_entry in entry["files"]:
            file_entry["sha256"] = file_sha256(recipe.file_path(source, file_entry["path"]))
        entry["labels"] = MAPPINGS[source.reader]
        if entry["name"] in counted:
            entry["rows"] = counted[entry["name"]]
    return data


def check_rows(recipe: Recipe, split: Split) -> None:
    """The rows read match the counts the recipe records (same data, same reading)."""
    for name, found in row_counts(split).items():
        expected = recipe.source(name).rows
        if expected and {k: expected.get(k) for k in SPLITS} != found:
            raise RecipeError(
                f"source {name!r}: read {found} rows, the recipe records {expected} "
                "(the reader or the data changed; retrain with --record to accept)"
            )


def data_hashes(recipe: Recipe) -> dict[str, str]:
    """file -> sha256 as the recipe records them (copied into the sidecar)."""
    return {
        f"{source.name}:{entry['path']}": entry.get("sha256", "")
        for source in recipe.sources
        for entry in source.files
    }
