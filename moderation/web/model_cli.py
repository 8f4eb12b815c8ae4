"""`flask model ...`: train, evaluate, ensure (build when missing or stale), info."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from ..classifier import artifact
from ..classifier.datasets import FORMATS, DatasetError, read_dataset

model_cli = AppGroup("model", help="Train, evaluate and inspect the classifier.")


def _model_path(value: str | None) -> Path:
    if value:
        return Path(value)
    configured = current_app.config.get("MODERATION_MODEL", "")
    if configured.strip().lower() in ("", "none", "off"):
        return artifact.DEFAULT_MODEL
    return Path(configured)


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _given_options(context: click.Context) -> list[str]:
    """The options the user set, as they would type them (for the sidecar's training command)."""
    out = []
    for param in context.command.params:
        value = context.params.get(param.name)
        if value in (None, (), False) or value == param.default:
            continue
        flag = param.opts[0]
        values = value if isinstance(value, tuple) else (value,)
        out += [flag] if value is True else [f"{flag} {shlex.quote(str(v))}" for v in values]
    return out


@model_cli.command("train")
@click.option(
    "--data",
    "data",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Extra labeled data: Jigsaw CSV or the project's JSON lines. Repeatable.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="auto",
    show_default=True,
    help="Format of the --data files.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the artifact (default: MODERATION_MODEL).",
)
@click.option(
    "--holdout",
    type=click.FloatRange(0, 0.5),
    default=0.2,
    show_default=True,
    help="Share held out to measure the model before the final fit on everything (0 to skip).",
)
@click.option("--C", "C", type=float, default=None, help="Inverse regularisation strength.")
@click.option(
    "--corpus",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Train from another corpus folder of *.jsonl files (default: the shipped corpus/).",
)
@click.option(
    "--min-df",
    type=click.IntRange(1),
    default=2,
    show_default=True,
    help="Ignore n-grams seen in fewer comments than this.",
)
@click.option(
    "--from-decisions",
    is_flag=True,
    help="Add the comments moderators approved (clean) or rejected (toxic) from the database.",
)
def train_command(
    data: tuple[str, ...],
    fmt: str,
    out: str | None,
    holdout: float,
    C: float | None,
    corpus: str | None,
    min_df: int,
    from_decisions: bool,
) -> None:
    """Train from the shipped corpus plus any --data files, and save the Pipeline."""
    from ..classifier.datasets import CORPUS_DIR
    from ..classifier.train import DEFAULT_C, train_and_save

    given = _given_options(click.get_current_context())
    decided = []
    if from_decisions:
        from ..classifier.from_decisions import decision_examples
        from .extension import services

        with services().sessions() as session:
            decided = decision_examples(session)
    try:
        meta = train_and_save(
            _model_path(out),
            [(Path(p), fmt) for p in data],
            " ".join(["flask model train", *given]),
            corpus_dir=Path(corpus) if corpus else CORPUS_DIR,
            holdout=holdout,
            C=C or DEFAULT_C,
            min_df=min_df,
            progress=_progress,
            extra_examples=decided,
            extra_label="moderators' decisions",
        )
    except DatasetError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(meta["model_version"])


@model_cli.command("ensure")
@click.option("--out", type=click.Path(dir_okay=False), default=None)
def ensure_command(out: str | None) -> None:
    """Build the artifact if it is missing or stale (used by `make setup`)."""
    from ..classifier.train import stale_reason, train_and_save

    path = _model_path(out)
    reason = stale_reason(path)
    if reason is None:
        click.echo(f"model up to date: {path}", err=True)
        return
    click.echo(f"training the classifier ({reason}) ...", err=True)
    train_and_save(path, command="make setup (flask model ensure)", progress=_progress)


@model_cli.command("evaluate")
@click.option(
    "--data",
    "data",
    multiple=True,
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Labeled data to measure on. Repeatable: the files are pooled.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True)
@click.option("--model", "model", type=click.Path(dir_okay=False), default=None)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    default="evaluation.png",
    show_default=True,
    help="Where to write the PNG of ROC and precision-recall curves.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def evaluate_command(data: tuple[str, ...], fmt: str, model: str | None, plot: str, as_json: bool) -> None:
    """Per-category ROC-AUC, average precision and P/R/F1 at the thresholds in rules.yaml."""
    from ..classifier.evaluate import evaluate, format_table, plot_curves
    from .extension import services

    try:
        classifier = artifact.load(_model_path(model))
        examples = [e for path in data for e in read_dataset(Path(path), fmt)]
    except (artifact.ModelError, DatasetError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    thresholds = services().decider.rules.score_thresholds()
    results, curves = evaluate(classifier, examples, thresholds)
    if as_json:
        click.echo(
            json.dumps(
                {"model_version": classifier.version, "n": len(examples), "metrics": results}, indent=2
            )
        )
    else:
        click.echo(f"model {classifier.version} on {len(examples)} comments from {', '.join(data)}")
        click.echo(format_table(results))
    if curves:
        plot_curves(curves, Path(plot), f"{classifier.version} on {', '.join(Path(d).name for d in data)}")
        click.echo(f"curves written to {plot}", err=True)


@model_cli.command("info")
@click.option("--model", "model", type=click.Path(dir_okay=False), default=None)
def info_command(model: str | None) -> None:
    """Print the model's sidecar (versions, corpus hash, metrics, thresholds)."""
    try:
        click.echo(json.dumps(artifact.read_metadata(_model_path(model)), indent=2))
    except artifact.ModelError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
