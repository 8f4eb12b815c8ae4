"""Command-line tools: `flask rules ...`, `flask api-key ...`, `flask webhooks ...`, `flask moderator ...`
(and `flask score`, from ``score_cli``)."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from ..accounts.apikeys import SCOPES, ApiKeyError, create_key, list_keys, revoke_key
from ..accounts.moderators import (
    ROLES,
    ModeratorError,
    create_moderator,
    find_moderator,
    list_moderators,
    set_disabled,
)
from ..pipeline import available_cores
from ..rules import RulesError, load_rules
from ..workflow.webhooks import (
    DATABASE_DOWN,
    STATES,
    deliver_due,
    list_deliveries,
    retry,
    retry_failed,
    run_worker,
)
from .contribution_cli import check_contribution_command, train_contribution_command
from .extension import services
from .model_cli import model_cli
from .ratelimit import set_limit_command
from .rules_cli import rules_test
from .score_cli import score_cli


@click.group("rules", cls=AppGroup)
def rules_cli() -> None:
    """Work with rules.yaml."""


rules_cli.add_command(rules_test)


@rules_cli.command("check")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
def rules_check(path: str | None) -> None:
    """Validate a rules file (default: the configured one) without serving."""
    path = path or current_app.config["MODERATION_RULES"]
    try:
        rules = load_rules(path)
    except RulesError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{path}: {len(rules.rules)} rules, version {rules.version}")


@rules_cli.command("reapply")
@click.option("--since-hours", default=24.0, show_default=True, help="Only comments stored this recently.")
@click.option("--dry-run", is_flag=True, help="List what would change; change nothing.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes that score each batch (default: every core this process may use).",
)
def rules_reapply(since_hours: float, dry_run: bool, jobs: int | None) -> None:
    """Re-run the current rules over recent comments no moderator has decided."""
    from ..workflow.reapply import reapply_rules

    svc = services()
    result = reapply_rules(
        svc.sessions, svc.pipeline, svc.notify, since_hours, dry_run, jobs=jobs or available_cores()
    )
    for site_id, before, after in result.changed:
        click.echo(f"{site_id}\t{before} -> {after}")
    verb = "would change" if dry_run else "changed"
    click.echo(f"checked {result.checked}, {verb} {len(result.changed)}", err=True)


@click.group("api-key", cls=AppGroup)
def api_key_cli() -> None:
    """Create, list and revoke API keys."""


@api_key_cli.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(SCOPES),
    default=("submit",),
    show_default=True,
    help="Repeat for several scopes.",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(0),
    default=None,
    help="Requests per API_RATE_WINDOW_SECONDS for this key (0: none); default: API_RATE_LIMIT.",
)
def api_key_create(name: str, scopes: tuple[str, ...], rate_limit: int | None) -> None:
    """Create a key; it is printed once, as the only line on stdout."""
    with services().transaction() as session:
        try:
            key = create_key(session, name, scopes, rate_limit)
        except ApiKeyError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(key)
    click.echo("Store this key now: it cannot be shown again.", err=True)


@api_key_cli.command("list")
def api_key_list() -> None:
    """List keys (names, scopes, state, rate limit; never the secrets)."""
    with services().sessions() as session:
        default = current_app.config["API_RATE_LIMIT"]
        window = current_app.config["API_RATE_WINDOW_SECONDS"]
        for key in list_keys(session):
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            limit = key.rate_limit if key.rate_limit is not None else default
            shown = "no rate limit" if limit == 0 else f"{limit} requests/{window:g}s"
            source = "" if key.rate_limit is not None else " (default)"
            created = f"created {key.created_at:%Y-%m-%d %H:%M}"
            click.echo(f"{key.name}\t{key.scopes}\t{state}\t{created}\t{shown}{source}")


@api_key_cli.command("revoke")
@click.argument("name")
def api_key_revoke(name: str) -> None:
    """Revoke a key by name."""
    with services().transaction() as session:
        try:
            revoke_key(session, name)
        except ApiKeyError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"revoked {name}", err=True)


api_key_cli.add_command(set_limit_command)


webhooks_cli = AppGroup("webhooks", help="Deliver and inspect webhook deliveries.")


@webhooks_cli.command("deliver")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between polls.")
def webhooks_deliver(once: bool, interval: float) -> None:
    """Run the delivery worker: POST due deliveries, retry failures with backoff."""
    svc = services()
    if svc.webhooks is None:
        raise click.ClickException("WEBHOOK_URL is not set")

    def report(counts: dict[str, int]) -> None:
        click.echo(" ".join(f"{k}={v}" for k, v in counts.items()), err=True)

    if not once:
        # Runs until stopped; a database outage is logged and waited out, never fatal.
        run_worker(svc.sessions, svc.webhooks, interval=interval, report=report)
        return
    try:
        counts = deliver_due(svc.sessions, svc.webhooks, limit=None)
    except DATABASE_DOWN as exc:
        raise click.ClickException(f"the database is unavailable ({type(exc.orig).__name__})") from exc
    if any(counts.values()):
        report(counts)


@webhooks_cli.command("list")
@click.option("--state", type=click.Choice(STATES), default=None)
@click.option("--limit", default=50, show_default=True)
def webhooks_list(state: str | None, limit: int) -> None:
    """List deliveries, newest first: id, event, sequence, state, attempts, last error."""
    with services().sessions() as session:
        for d in list_deliveries(session, state, limit):
            sequence = f"seq={d.sequence}" if d.sequence is not None else "seq=-"
            click.echo(
                f"{d.id}\t{d.event}\t{sequence}\t{d.state}\tattempts={d.attempts}\t{d.last_error or ''}"
            )


@webhooks_cli.command("retry")
@click.argument("delivery_id", type=int, required=False)
@click.option("--all", "all_failed", is_flag=True, help="Re-queue every failed delivery.")
def webhooks_retry(delivery_id: int | None, all_failed: bool) -> None:
    """Put a failed delivery (or, with --all, every one) back in the queue.

    A failed delivery holds back the later events of its comment until it is re-queued.
    """
    if (delivery_id is None) == (not all_failed):
        raise click.UsageError("give a delivery id or --all")
    with services().transaction() as session:
        if delivery_id is None:  # and so --all
            click.echo(f"re-queued {retry_failed(session)} failed deliveries", err=True)
        elif not retry(session, delivery_id):
            raise click.ClickException(f"no failed delivery {delivery_id}")


moderator_cli = AppGroup("moderator", help="Manage review-page accounts.")


@moderator_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="moderator", show_default=True)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting."
)
def moderator_create(username: str, role: str, password_stdin: bool) -> None:
    """Create a moderator (the password is stored hashed)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with services().transaction() as session:
        try:
            create_moderator(session, username, password, role)
        except ModeratorError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"created {role} {username}", err=True)


@moderator_cli.command("list")
def moderator_list() -> None:
    """List accounts: username, role, state."""
    with services().sessions() as session:
        for m in list_moderators(session):
            click.echo(f"{m.username}\t{m.role}\t{'disabled' if m.disabled_at else 'active'}")


@moderator_cli.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Re-enable instead.")
def moderator_disable(username: str, enable: bool) -> None:
    """Disable an account (it can no longer log in)."""
    with services().transaction() as session:
        moderator = find_moderator(session, username)
        if moderator is None:
            raise click.ClickException(f"no moderator {username!r}")
        set_disabled(session, moderator, not enable)


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(rules_cli)
    app.cli.add_command(api_key_cli)
    app.cli.add_command(score_cli)
    model_cli.add_command(train_contribution_command)
    model_cli.add_command(check_contribution_command)
    app.cli.add_command(model_cli)
    app.cli.add_command(webhooks_cli)
    app.cli.add_command(moderator_cli)
