"""`flask rules test NEW_RULES_FILE`: replay candidate rules over stored comments; nothing changes."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..rules import RulesError, load_rules
from ..workflow.replay import format_report, replay
from ..workflow.rulestats import parse_window
from .extension import services

DEFAULT_LIMIT = 10_000


@click.command("test")
@with_appcontext
@click.argument("rules_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--since", default="7d", show_default=True, help="Comments stored this recently (7d, 36h).")
@click.option(
    "--limit",
    default=DEFAULT_LIMIT,
    show_default=True,
    type=click.IntRange(min=1),
    help="At most this many comments, newest first.",
)
@click.option(
    "--sample", default=10, show_default=True, type=click.IntRange(min=0), help="Changed comments to show."
)
def rules_test(rules_file: str, since: str, limit: int, sample: int) -> None:
    """Show what RULES_FILE would change on stored comments: status transitions, the rules
    responsible, agreement with moderators' decisions and a sample. Writes nothing.

    The sample quotes comments: it is for the operator's terminal, not for logs.
    """
    try:
        window = parse_window(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    try:
        candidate = load_rules(rules_file, services().rules.limits)
    except RulesError as exc:
        raise click.ClickException(str(exc)) from None
    svc = services()
    report = replay(svc.sessions, svc.pipeline, candidate, window, limit, sample)
    click.echo(format_report(report))
