"""`flask model ...`: train, evaluate, ensure (build when missing or stale), info."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from ..classifier import artifact, serving
from ..classifier.datasets import FORMATS, DatasetError, read_dataset
from .model_registry_cli import REGISTRY_COMMANDS, finish_candidate, live_path, training_target

model_cli = AppGroup("model", help="Train, evaluate and inspect the classifier.")
MODEL_HELP = "Default: the live model (the promoted one, else MODERATION_MODEL)."


def _model_path(value: str | None) -> Path:
    """The artifact a command works on: the one given, else the live one (the promoted model,
    else MODERATION_MODEL), else the shipped default."""
    if value:
        return Path(value)
    live = live_path()
    return live if live is not None else artifact.DEFAULT_MODEL


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
    help="Where to write the artifact (default: a candidate, MODEL_CANDIDATES_DIR/<version>.skops).",
)
@click.option(
    "--replace-live",
    is_flag=True,
    help="Let --out overwrite the live model (rebuilding the shipped artifact); processes keep theirs.",
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
@click.option(
    "--recipe",
    type=click.Path(dir_okay=False),
    default=None,
    help="Train from a recipe file (the shipped model: models/recipe.json); other data options are ignored.",
)
@click.option(
    "--datasets",
    type=click.Path(file_okay=False),
    default=None,
    help="Where the recipe's public data sets are (default: the recipe's datasets_root, ../shared/datasets).",
)
@click.option(
    "--record",
    is_flag=True,
    help="With --recipe: accept the files as they are and write their hashes and row counts into it.",
)
def train_command(
    data: tuple[str, ...],
    fmt: str,
    out: str | None,
    replace_live: bool,
    holdout: float,
    C: float | None,
    corpus: str | None,
    min_df: int,
    from_decisions: bool,
    recipe: str | None,
    datasets: str | None,
    record: bool,
) -> None:
    """Train from the shipped corpus plus any --data files (or from a --recipe), and save the Pipeline."""
    from ..classifier.datasets import CORPUS_DIR
    from ..classifier.train import DEFAULT_C, train_and_save, train_from_recipe

    given = _given_options(click.get_current_context())
    target, candidate = training_target(out, replace_live)
    if recipe:
        if data or corpus or from_decisions:
            raise click.UsageError("--recipe names all the data; drop --data, --corpus and --from-decisions")
        try:
            meta = train_from_recipe(
                Path(recipe),
                target,
                Path(datasets) if datasets else None,
                record=record,
                command=" ".join(["flask model train", *given]),
                progress=_progress,
            )
        except DatasetError as exc:
            raise click.ClickException(str(exc)) from exc
        _finish(target, candidate, meta["model_version"])
        return
    decided = []
    if from_decisions:
        from ..classifier.from_decisions import decision_examples
        from .extension import services

        with services().sessions() as session:
            decided = decision_examples(session)
    try:
        meta = train_and_save(
            target,
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
        raise click.ClickException(str(exc)) from exc
    _finish(target, candidate, meta["model_version"])


def _finish(target: Path, candidate: bool, version: str) -> None:
    """Name a candidate after its version and say what to do with it."""
    if candidate:
        target = finish_candidate(target, version)
        _progress(
            f"candidate {target}: `flask model compare {version}`, then `flask model promote {version}`"
        )
    click.echo(version)


@model_cli.command("check")
@click.option("--model", "model", type=click.Path(dir_okay=False), default=None, help=MODEL_HELP)
def check_command(model: str | None) -> None:
    """Check the artifact loads and matches its sidecar (used by `make setup`; never trains)."""
    from ..classifier.train import stale_reason

    path = _model_path(model)
    try:
        meta = artifact.read_metadata(path)
        artifact.verify_hash(path, meta)
        classifier = artifact.load(path)
    except artifact.ModelError as exc:
        raise click.ClickException(
            f"{exc}\nThe shipped model is committed as models/classifier.skops; to build one here run "
            "`flask model train --recipe models/recipe.json --out PATH --replace-live` (needs "
            "../shared/datasets) or `flask model train --out PATH --replace-live` (corpus only)."
        ) from exc
    click.echo(f"model {classifier.version} ok: {path}", err=True)
    click.echo(serving.ensure_form(path, classifier, artifact.file_sha256(path)), err=True)
    reason = stale_reason(path)
    if reason and reason != "corpus changed":
        click.echo(f"note: {reason}", err=True)
    elif reason:
        click.echo("note: corpus/ changed since this model was trained (it is not retrained here)", err=True)


def _rules_path(value: str | None) -> Path:
    return Path(value or current_app.config.get("MODERATION_RULES") or "rules.yaml")


@model_cli.command("calibrate")
@click.option("--recipe", type=click.Path(dir_okay=False), default=None, help="Default: models/recipe.json.")
@click.option("--datasets", type=click.Path(file_okay=False), default=None, help="Default: the recipe's.")
@click.option("--model", "model", type=click.Path(dir_okay=False), default=None, help=MODEL_HELP)
@click.option(
    "--rules", "rules", type=click.Path(dir_okay=False), default=None, help="Default: MODERATION_RULES."
)
@click.option(
    "--margin",
    type=click.FloatRange(0.1, 1.0),
    default=0.85,
    show_default=True,
    help="Spend at most this share of each budget on the calibration split (room for sampling noise).",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the chosen thresholds and figures; leave rules.yaml alone."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def calibrate_command(
    recipe: str | None,
    datasets: str | None,
    model: str | None,
    rules: str | None,
    margin: float,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Choose every ml-* threshold against the false-positive budget and write it into rules.yaml."""
    from ..classifier.calibrate import calibrate
    from ..classifier.heldout import format_budget
    from ..classifier.recipe import DEFAULT_RECIPE
    from ..rules import RulesError

    try:
        report = calibrate(
            Path(recipe) if recipe else DEFAULT_RECIPE,
            _model_path(model),
            _rules_path(rules),
            Path(datasets) if datasets else None,
            margin=margin,
            write=not dry_run,
            progress=_progress,
        )
    except (artifact.ModelError, DatasetError, RulesError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"model {report['model_version']}, budget margin {report['margin']:.0%}")
    click.echo("| rule | before | chosen |\n|---|---|---|")
    for rule, value in report["thresholds"].items():
        click.echo(f"| {rule} | {report['before'][rule]:.4g} | {value:.4g} |")
    for part in ("calibration", "test"):
        click.echo(f"\n{part} split (whole verdicts: rules and model):")
        click.echo(format_budget(report[part]))


@model_cli.command("evaluate")
@click.option(
    "--data",
    "data",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Labeled data to measure on. Repeatable: the files are pooled.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True)
@click.option("--model", "model", type=click.Path(dir_okay=False), default=None, help=MODEL_HELP)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    default="evaluation.png",
    show_default=True,
    help="Where to write the PNG of ROC and precision-recall curves.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option(
    "--recipe",
    type=click.Path(dir_okay=False),
    default=None,
    help="Measure the budget and recall on the recipe's held-out test split (whole verdicts).",
)
@click.option("--datasets", type=click.Path(file_okay=False), default=None, help="Default: the recipe's.")
@click.option(
    "--leave-one-out",
    "loso",
    is_flag=True,
    help="With --recipe: also train without each source in turn and score that source (slow: one fit each).",
)
def evaluate_command(
    data: tuple[str, ...],
    fmt: str,
    model: str | None,
    plot: str,
    as_json: bool,
    recipe: str | None,
    datasets: str | None,
    loso: bool,
) -> None:
    """Per-category ROC-AUC, average precision and P/R/F1 at the thresholds in rules.yaml.

    With --recipe: the false-positive budget and recall on the held-out test split, ROC-AUC per
    source, and with --leave-one-out the leave-one-source-out table.
    """
    from ..classifier.evaluate import evaluate, format_table, plot_curves
    from .extension import services

    if not data and not recipe:
        raise click.UsageError("give --data FILE or --recipe FILE")
    try:
        classifier = artifact.load(_model_path(model))
        examples = [e for path in data for e in read_dataset(Path(path), fmt)]
    except (artifact.ModelError, DatasetError) as exc:
        raise click.ClickException(str(exc)) from exc
    if recipe:
        _evaluate_recipe(Path(recipe), Path(datasets) if datasets else None, classifier, loso, as_json)
        if not data:
            return
    thresholds = services().pipeline.rules.score_thresholds()
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


def _evaluate_recipe(
    recipe_path: Path, datasets: Path | None, classifier: artifact.Classifier, loso: bool, as_json: bool
) -> None:
    from ..classifier.heldout import format_budget, measure_split, rules_firing
    from ..classifier.loso import format_loso, leave_one_source_out
    from ..classifier.recipe import check_files, load_recipe, split_sources
    from ..classifier.train import held_out_metrics
    from .extension import services

    try:
        recipe = load_recipe(recipe_path, datasets)
        check_files(recipe)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from exc
    split = split_sources(recipe)
    pipeline = services().pipeline
    if pipeline.scorer is None or pipeline.scorer.version != classifier.version:
        from ..pipeline import Pipeline

        pipeline = Pipeline(pipeline.rules, classifier, model_required=True)
    _, outcomes, table = measure_split(recipe, split, "test", pipeline.assess_texts, classifier.categories)
    per_source = held_out_metrics(classifier.pipeline, split, "test")
    report: dict[str, Any] = {
        "model_version": classifier.version,
        "budget": table,
        "rules_firing_on_clean_sets": rules_firing(outcomes),
        "test_roc_auc": per_source,
    }
    if loso:
        _progress("leave one source out (one fit per source) ...")
        report["leave_one_source_out"] = leave_one_source_out(recipe, split, progress=_progress)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"model {classifier.version}, held-out test split of {recipe_path} (whole verdicts)")
    click.echo(format_budget(table))
    click.echo("\nROC-AUC per source on its test split:")
    click.echo(format_loso({k: {"rows": len(split.rows[k]["test"]), **v} for k, v in per_source.items()}))
    if loso:
        click.echo("\nLeave one source out: trained without it, scored on all its rows (ROC-AUC):")
        click.echo(format_loso(report["leave_one_source_out"]))


@model_cli.command("info")
@click.option("--model", "model", type=click.Path(dir_okay=False), default=None, help=MODEL_HELP)
def info_command(model: str | None) -> None:
    """Print the model's sidecar (versions, corpus hash, metrics, thresholds)."""
    try:
        click.echo(json.dumps(artifact.read_metadata(_model_path(model)), indent=2))
    except artifact.ModelError as exc:
        raise click.ClickException(str(exc)) from exc


for _command in REGISTRY_COMMANDS:
    model_cli.add_command(_command)
