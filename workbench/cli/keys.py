"""``workbench keys ...``: exchange API keys, read from a prompt or stdin, never argv."""

from __future__ import annotations

import sys

import typer
from cryptography.fernet import Fernet

from workbench.cli.common import JsonOption, db_session, print_json, print_table
from workbench.errors import ValidationError

app = typer.Typer(no_args_is_help=True, help="Exchange API keys (stored encrypted).")


@app.command()
def add(
    exchange: str = typer.Option(..., "--exchange", help="ccxt exchange id, e.g. binance"),
    key_name: str = typer.Option(..., "--key-name", "--label", help="A name to choose the key by"),
    sandbox: bool = typer.Option(
        False, "--sandbox", help="A sandbox (testnet) key: bots using it trade on the testnet"
    ),
) -> None:
    """Store an API key and secret: typed at a prompt, or two lines on stdin."""

    from workbench.accounts import add_api_key, local_user
    from workbench.market.names import normalize_exchange

    exchange = normalize_exchange(exchange)
    if sys.stdin.isatty():
        api_key = typer.prompt("API key", hide_input=True)
        api_secret = typer.prompt("API secret", hide_input=True)
    else:
        lines = sys.stdin.read().splitlines()
        if len(lines) < 2:
            raise ValidationError(
                {"stdin": "expected two lines: the API key, then the secret"}, entity="API key"
            )
        api_key, api_secret = lines[0].strip(), lines[1].strip()
    with db_session() as session:
        owner = local_user(session=session)
        row = add_api_key(
            session=session,
            user_id=owner.id,
            exchange=exchange,
            key_name=key_name,
            api_key=api_key,
            api_secret=api_secret,
            sandbox=sandbox,
        )
        kind = "SANDBOX (testnet)" if row.sandbox else "live"
        typer.echo(f"stored {kind} key {row.id}: {row.exchange} {row.key_name} {row.key_masked}")


@app.command("list")
def list_command(json_out: bool = JsonOption) -> None:
    """The stored keys, masked."""

    from workbench.accounts import list_api_keys

    with db_session() as session:
        rows = [
            {
                "id": k.id,
                "exchange": k.exchange,
                "key_name": k.key_name,
                "key": k.key_masked,
                "sandbox": k.sandbox,
                "created_at": k.created_at,
            }
            for k in list_api_keys(session=session)
        ]
    if json_out:
        print_json(rows)
    else:
        print_table(rows)


@app.command()
def rotate() -> None:
    """Re-encrypt every stored key with a new secret key.

    In development a new key is generated into the home; the previous key stays there
    (older backups need it) until `workbench keys drop-old`. With WORKBENCH_SECRET_KEY
    set, put the new key first ("new,old"), run this, then drop the old key.
    """

    from workbench.accounts.rotation import rotate_secret_key

    count, generated = rotate_secret_key()
    if generated:
        typer.echo(
            f"re-encrypted {count} API keys with a new secret key; the previous key is kept "
            "in the home's secret.key so older backups still restore. Remove it with "
            "`workbench keys drop-old` once no backup needs it"
        )
    else:
        typer.echo(
            f"re-encrypted {count} API keys with the first key of WORKBENCH_SECRET_KEY; "
            "now remove the old keys from WORKBENCH_SECRET_KEY, keeping only the first"
        )


@app.command("drop-old")
def drop_old() -> None:
    """Remove the previous development secret keys (backups made with them need them)."""

    from workbench.accounts.rotation import drop_previous_keys

    dropped = drop_previous_keys()
    typer.echo(f"dropped {dropped} previous secret key(s); only the newest is left")


@app.command()
def generate() -> None:
    """Print a new Fernet key (for WORKBENCH_SECRET_KEY)."""
    typer.echo(Fernet.generate_key().decode())
