"""The ``scim-server`` command: serve, migrate, manage tokens, check a deployment."""

from __future__ import annotations

import sys
from typing import Any

import click
from sqlalchemy.orm import Session

from . import db
from .config import ConfigurationError, Settings, load_settings
from .policy import PolicyError
from .registry import load_registry
from .tokens import SCOPES, create_token, list_tokens, revoke_tokens


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exception:
        raise click.ClickException(str(exception)) from exception


def _engine() -> Any:
    """A migrated engine: every command may be the first to touch a fresh database."""
    engine = db.make_engine(_settings())
    db.upgrade(engine)
    return engine


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """A SCIM 2.0 provisioning server. Configured by SCIM_* environment variables (see README)."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1), help="Worker processes.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1), help="Threads per worker.")
@click.option(
    "--timeout",
    default=120,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seconds a request may take before its worker is restarted (a /Bulk of 1,000 terminations takes ~10).",
)
def serve(host: str, port: int, workers: int, threads: int, timeout: int) -> None:
    """Run the production server (gunicorn)."""
    import shutil

    from gunicorn.app.base import BaseApplication

    from . import create_app, metrics

    _engine()  # migrate once, before the workers start
    metrics_dir, made_here = metrics.prepare_multiprocess()  # /metrics adds up every worker's counts

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread" if threads > 1 else "sync")
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", timeout)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("child_exit", lambda _arbiter, worker: metrics.worker_exited(worker.pid))

        def load(self) -> Any:
            return create_app()

    try:
        Server().run()
    finally:
        if made_here:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@main.group("db")
def database() -> None:
    """Database schema."""


@database.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (also done at start-up)."""
    _engine()
    click.echo("database is up to date")


@main.group("policy")
def policy_group() -> None:
    """The lifecycle policy (SCIM_POLICY_FILE)."""


@policy_group.command("show")
def policy_show() -> None:
    """Print the effective policy as TOML: the file over the shipped defaults."""
    click.echo(app().extensions["scim_server"].policy.as_toml(), nl=False)


def app() -> Any:
    """The application, built as the server builds it, so that every setting and the policy are validated."""
    from . import create_app

    try:
        return create_app()
    except (ConfigurationError, PolicyError) as exception:
        raise click.ClickException(str(exception)) from exception


@main.group()
def tokens() -> None:
    """Bearer tokens of named clients."""


@tokens.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(SCOPES), help="Repeatable.")
@click.option("--expires", type=click.FloatRange(min=0, min_open=True), help="Days until the token expires.")
@click.option("--user", "user_id", help="Bind the token to a user id, which /Me then serves.")
def tokens_create(name: str, scopes: tuple[str, ...], expires: float | None, user_id: str | None) -> None:
    """Create a token for client NAME and print it (it is shown only once)."""
    with Session(_engine()) as session, session.begin():
        try:
            token = create_token(session, name, scopes, expires_in_days=expires, user_id=user_id)
        except ValueError as exception:
            raise click.BadParameter(str(exception)) from exception
    click.echo(token)


@tokens.command("list")
def tokens_list() -> None:
    """List tokens: client, hint, scopes, status, expiry."""
    with Session(_engine()) as session:
        rows = list_tokens(session)
    for info in rows:
        expires = info.expires.isoformat(timespec="seconds") if info.expires else "never"
        user = f" user={info.user_id}" if info.user_id else ""
        click.echo(f"{info.client}\t{info.hint}…\t{','.join(info.scopes)}\t{info.status}\texpires={expires}{user}")


@tokens.command("revoke")
@click.argument("name")
def tokens_revoke(name: str) -> None:
    """Revoke every live token of client NAME."""
    with Session(_engine()) as session, session.begin():
        count = revoke_tokens(session, name)
    if not count:
        click.echo(f"no live token for {name!r}", err=True)
        sys.exit(1)
    click.echo(f"revoked {count} token(s) of {name!r}")


@main.command()
@click.argument("url")
@click.option("--token", required=True, envvar="SCIM_CHECK_TOKEN", help="A bearer token with read and write scopes.")
@click.option("--resource-type", "resource_types", multiple=True, help="Check only this resource type (repeatable).")
@click.option("--verbose", is_flag=True, help="Also list the checks that fail on purpose.")
def check(url: str, token: str, resource_types: tuple[str, ...], verbose: bool) -> None:
    """Run scim2-tester against the server at URL (its SCIM root, e.g. https://host/scim/v2).

    The checks write test resources and delete them again; their lifecycle events stay in the audit
    trail. Exits 1 when a check fails that this server does not fail on purpose (README, "Conformance").
    """
    from . import check as checks

    try:
        results = checks.run(url.rstrip("/"), token, resource_types=resource_types)
    except Exception as exception:  # the server is unreachable, refuses the token, or is no SCIM server
        raise click.ClickException(f"could not check {url}: {exception}") from exception
    report = checks.judge(results)
    counts = ", ".join(f"{count} {status.lower()}" for status, count in sorted(report.counts.items()))
    click.echo(f"{sum(report.counts.values())} checks: {counts}")
    click.echo(f'{len(report.expected)} fail on purpose (README, "Conformance")')
    for (kind, title, urn), reason in report.expected if verbose else ():
        click.echo(f"  expected  {kind} {title}{f' {urn}' if urn else ''}: {reason.splitlines()[0]}")
    for (kind, title, urn), reason in report.unexpected:
        click.echo(f"  FAILED    {kind} {title}{f' {urn}' if urn else ''}: {reason.splitlines()[0] if reason else ''}")
    if not report.passed:
        click.echo(f"{len(report.unexpected)} unexpected failure(s)")
        sys.exit(1)
    click.echo("ok")


for _command in load_registry().commands:
    main.add_command(_command)
