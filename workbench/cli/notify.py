"""``workbench notify ...``: where alerts go (apprise URLs, read from a prompt or stdin)."""

from __future__ import annotations

import sys
from dataclasses import asdict

import typer

from workbench.cli.common import JsonOption, db_session, print_json, print_table
from workbench.errors import ValidationError

app = typer.Typer(no_args_is_help=True, help="Alerts: notifiers (stored encrypted) and sending.")


@app.command()
def add(label: str = typer.Option(..., "--label", help="A name to choose the notifier by")) -> None:
    """Store an apprise URL (tgram://, slack://, discord://, mailto://, json://, ...): typed
    at a prompt or one line on stdin, never on the command line (it holds a token)."""
    from workbench.notify import add_notifier

    if sys.stdin.isatty():
        url = typer.prompt("Notification URL", hide_input=True)
    else:
        url = sys.stdin.readline().strip()
        if not url:
            raise ValidationError({"stdin": "expected the URL on one line"}, entity="notifier")
    with db_session() as session:
        view = add_notifier(session=session, label=label, url=url)
    typer.echo(f"stored notifier {view.id}: {view.label} ({view.kind})")


@app.command("list")
def list_command(json_out: bool = JsonOption) -> None:
    """The notifiers, by label and kind (never their URLs)."""
    from workbench.notify import list_notifiers

    with db_session() as session:
        rows = [asdict(v) for v in list_notifiers(session=session)]
    if json_out:
        print_json(rows)
    else:
        print_table(rows)


@app.command()
def remove(notifier_id: int) -> None:
    """Remove a notifier."""
    from workbench.notify import remove_notifier

    with db_session() as session:
        remove_notifier(session=session, notifier_id=notifier_id)
    typer.echo(f"removed notifier {notifier_id}")


@app.command()
def test(json_out: bool = JsonOption) -> None:
    """Send a test alert to every active notifier now."""
    from datetime import UTC, datetime

    from workbench.notify import AlertKind, queue_alert

    now = datetime.now(UTC)
    with db_session() as session:
        queue_alert(
            session=session,
            kind=AlertKind.TEST,
            dedupe_key=f"test:{now.isoformat()}",
            title="workbench test alert",
            body=f"sent by `workbench notify test` at {now:%Y-%m-%d %H:%M:%S} UTC",
        )
    _report(json_out)


@app.command()
def send(json_out: bool = JsonOption) -> None:
    """Send the alerts that are due (failed ones are retried with backoff)."""
    _report(json_out)


def _report(json_out: bool) -> None:
    from workbench.db import default_engine
    from workbench.notify import deliver

    report = deliver(engine=default_engine())
    if json_out:
        print_json(asdict(report))
        return
    typer.echo(f"sent {len(report.sent)}, failed {len(report.failed)}, waiting {report.waiting}")
    if report.failed:
        raise typer.Exit(75)  # temporary: the failed alerts stay queued for a retry
