"""`flask model compare|promote|rollback|history`: try a candidate model, make it live, go back.

``flask model train`` writes candidates into ``MODEL_CANDIDATES_DIR`` (never over the live
model); these commands compare one with the live model and move the live choice, which every
process follows from the database (``moderation.classifier.live``).
"""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from ..classifier import artifact, compiled, registry
from ..classifier.datasets import DatasetError
from .extension import services


def candidates_dir() -> Path:
    """Where `flask model train` writes candidates."""
    return Path(current_app.config["MODEL_CANDIDATES_DIR"])


def live_path() -> Path | None:
    """The artifact this process serves as live (promoted, else configured); None for no model."""
    models = services().models
    if models.source == "promoted" and models.promoted_path:
        return registry.resolve(models.promoted_path)
    configured = current_app.config["MODERATION_MODEL"]
    return None if configured.strip().lower() in ("", "none", "off") else Path(configured)


def training_target(out: str | None, replace_live: bool) -> tuple[Path, bool]:
    """Where to train to, and whether it is a temporary name in the candidates folder."""
    if out is None:
        folder = candidates_dir()
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f".training-{os.getpid()}.skops", True
    path = Path(out)
    live = live_path()
    if not replace_live and live is not None and path.resolve() == live.resolve():
        raise click.ClickException(
            f"{path} is the live model: train a candidate (leave out --out), compare it and promote it; "
            "--replace-live overwrites it in place (running processes keep the model they loaded)"
        )
    return path, False


def finish_candidate(path: Path, version: str) -> Path:
    """Give a freshly trained candidate its version's name (never replacing another file)."""
    final = path.with_name(f"{version}.skops")
    n = 1
    while final.exists() or artifact.sidecar_path(final).exists():
        n += 1
        final = path.with_name(f"{version}-{n}.skops")
    artifact.sidecar_path(path).replace(artifact.sidecar_path(final))
    path.replace(final)
    form = compiled.path_for(path)
    if form.exists():  # keyed by the artifact's bytes, not its name: it moves with it
        form.replace(compiled.path_for(final))
    return final


def _candidate(value: str) -> Path:
    path = Path(value)
    if path.is_file():
        return path
    named = candidates_dir() / f"{value}.skops"
    if named.is_file():
        return named
    raise click.ClickException(f"no candidate {value!r}: neither a file nor {named}")


def _actor(value: str | None) -> str:
    if value:
        return value
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@click.command("promote")
@click.argument("candidate")
@click.option("--actor", default=None, help="Who promotes (audit log); default: cli:<OS user>.")
@with_appcontext
def promote_command(candidate: str, actor: str | None) -> None:
    """Make CANDIDATE (a path, or a version in MODEL_CANDIDATES_DIR) the live model in every process."""
    path = _candidate(candidate)
    try:
        with services().transaction() as session:
            row = registry.promote(session, path, _actor(actor))
            version, stored = row.version, row.path
    except artifact.ModelError as exc:
        raise click.ClickException(f"not promoted: {exc}") from None
    click.echo(f"promoted {version} ({stored}); processes take it within MODEL_RELOAD_SECONDS")


@click.command("rollback")
@click.option("--actor", default=None, help="Who rolls back (audit log); default: cli:<OS user>.")
@with_appcontext
def rollback_command(actor: str | None) -> None:
    """Return every process to the model that was live before the current one."""
    try:
        with services().transaction() as session:
            row = registry.rollback(session, _actor(actor))
            version, stored = row.version, row.path
    except registry.RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    if stored is None:
        click.echo("rolled back to the configured MODERATION_MODEL")
    else:
        click.echo(f"rolled back to {version} ({stored})")


@click.command("history")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@with_appcontext
def history_command(limit: int) -> None:
    """Promotions and roll-backs, newest (the live one) first."""
    with services().sessions() as session:
        rows = registry.history(session, limit)
        if not rows:
            click.echo("nothing promoted: every process serves its configured MODERATION_MODEL")
        for row in rows:
            what = f"{row.version} {row.path}" if row.path else "configured MODERATION_MODEL"
            click.echo(f"{row.id}\t{row.promoted_at:%Y-%m-%d %H:%M}\t{row.action}\t{row.promoted_by}\t{what}")


def _progress(message: str) -> None:
    click.echo(message, err=True)


@click.command("compare")
@click.argument("candidate")
@click.option("--recipe", type=click.Path(dir_okay=False), default=None, help="Default: models/recipe.json.")
@click.option("--datasets", type=click.Path(file_okay=False), default=None, help="Default: the recipe's.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@with_appcontext
def compare_command(candidate: str, recipe: str | None, datasets: str | None, as_json: bool) -> None:
    """Score the live model and CANDIDATE on moderators' decisions and the model card's evaluation
    sets: precision, recall and acted-on rates per category and for the whole verdict, and how
    many comments would change status."""
    from ..classifier.compare import CachedVerdicts, compare, format_budget_pair, format_comparison
    from ..classifier.from_decisions import decision_examples
    from ..classifier.heldout import measure_split
    from ..classifier.recipe import DEFAULT_RECIPE, check_files, load_recipe, split_sources
    from ..pipeline import Pipeline

    path = _candidate(candidate)
    try:
        artifact.verify_hash(path, artifact.read_metadata(path))
        challenger = artifact.load(path)
    except artifact.ModelError as exc:
        raise click.ClickException(str(exc)) from None
    svc = services()
    rules = svc.pipeline.rules
    live = svc.pipeline.scorer
    names = ("live", "candidate")
    decide = {
        "live": CachedVerdicts(Pipeline(rules, live, model_required=live is not None)),
        "candidate": CachedVerdicts(Pipeline(rules, challenger, model_required=True)),
    }
    thresholds = rules.score_thresholds()
    categories = challenger.categories
    report: dict[str, Any] = {
        "live": live.version if live is not None else None,
        "candidate": challenger.version,
        "rules_version": rules.version,
    }
    header = (
        f"live {report['live'] or '(no model)'} vs candidate {challenger.version} ({path}), "
        f"rules {rules.version}"
    )
    sections = [header]

    with svc.sessions() as session:
        decided = decision_examples(session)
    if decided:
        _progress(f"scoring {len(decided)} comments moderators decided ...")
        result = compare("Comments moderators decided", decided, decide, thresholds, categories)
        report["decisions"] = result.to_dict()
        sections.append(format_comparison(result, names))
    else:
        report["decisions"] = None
        sections.append("Comments moderators decided: none yet")

    try:
        parsed = load_recipe(Path(recipe) if recipe else DEFAULT_RECIPE, Path(datasets) if datasets else None)
        check_files(parsed)
    except DatasetError as exc:
        report["evaluation_sets"] = None
        sections.append(f"Evaluation sets skipped: {exc}")
    else:
        _progress(f"reading the evaluation sets of {parsed.path} ...")
        split = split_sources(parsed)
        test = split.part("test")
        _progress(f"scoring {len(test)} held-out rows with each model ...")
        result = compare(f"Held-out test split of {parsed.path.name}", test, decide, thresholds, categories)
        budgets = {name: measure_split(parsed, split, "test", decide[name], categories)[2] for name in names}
        report["evaluation_sets"] = {**result.to_dict(), "budget": budgets}
        sections.append(format_comparison(result, names))
        sections.append(
            "The model card's budget on the same split (whole verdicts):\n"
            + format_budget_pair(budgets["live"], budgets["candidate"])
        )
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo("\n\n".join(sections))


REGISTRY_COMMANDS = (compare_command, promote_command, rollback_command, history_command)
