"""`flask model train-contribution` and `flask model check-contribution`: the contribution head."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..classifier import artifact, contribution, serving
from ..classifier.datasets import DatasetError, Example
from ..workflow.featuring import decision_rows
from .extension import services


def _contribution_path(value: str | None) -> Path:
    if value:
        return Path(value)
    configured = current_app.config.get("MODERATION_CONTRIBUTION_MODEL", "")
    if configured.strip().lower() in ("", "none", "off"):
        return contribution.DEFAULT_MODEL
    return Path(configured)


@click.command("train-contribution")
@with_appcontext
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the artifact (default: MODERATION_CONTRIBUTION_MODEL).",
)
@click.option(
    "--corpus",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Another folder of contribution *.jsonl files (default: corpus/contributions/).",
)
@click.option(
    "--from-decisions",
    is_flag=True,
    help="Add the comments editors featured (positive on their kind) or dismissed (negative).",
)
def train_contribution_command(out: str | None, corpus: str | None, from_decisions: bool) -> None:
    """Train the contribution head on its corpus (held-out split fixed by a hash of the text) and save it."""
    extra: list[Example] = []
    if from_decisions:
        with services().sessions() as session:
            extra = [Example(row.text, row.labels, "decisions") for row in decision_rows(session)]
    command = "flask model train-contribution" + (" --from-decisions" if from_decisions else "")
    try:
        meta = contribution.train_and_save(
            _contribution_path(out),
            Path(corpus) if corpus else contribution.CORPUS_DIR,
            extra_examples=extra,
            command=command,
            progress=lambda message: click.echo(message, err=True),
        )
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(meta["model_version"])


@click.command("check-contribution")
@with_appcontext
@click.option("--model", "model", type=click.Path(dir_okay=False), default=None)
def check_contribution_command(model: str | None) -> None:
    """Check the contribution artifact loads and matches its sidecar (never trains)."""
    path = _contribution_path(model)
    try:
        loaded = contribution.load(path)
        classifier = artifact.load(path)  # the Pipeline too: it must load here, not only its form
    except artifact.ModelError as exc:
        raise click.ClickException(
            f"{exc}\nRebuild it with `flask model train-contribution` (a few seconds)."
        ) from exc
    click.echo(f"contribution model {loaded.version} ok: {path}", err=True)
    click.echo(serving.ensure_form(path, classifier, artifact.file_sha256(path)), err=True)
    reason = contribution.stale_reason(path)
    if reason:
        click.echo(f"note: {reason}", err=True)
