"""`kakehashi user …`: accounts of agents, editors and admins."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from app._cli_db import fail, settings_for, with_db
from app.settings import Settings

user_cli = typer.Typer(help="Accounts of agents, editors and admins.", no_args_is_help=True)


def run_db(settings: Settings, work: Any) -> Any:
    """Run `work(session)` in one transaction on the configured database."""

    async def in_transaction(sessions: Any) -> Any:
        async with sessions.begin() as session:
            return await work(session)

    return with_db(settings, in_transaction)


def _new_password(generate: bool) -> tuple[str, bool]:
    if generate:
        from accounts.passwords import generate_password

        return generate_password(), True
    password = typer.prompt("Password (10+ characters)", hide_input=True, confirmation_prompt=True)
    return password, False


@user_cli.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Sign-in name, e.g. aiko.")],
    role: Annotated[str, typer.Option("--role", help="agent, editor or admin.")] = "agent",
    display_name: Annotated[str | None, typer.Option("--name", help="Shown to customers.")] = None,
    max_open_chats: Annotated[int, typer.Option("--max-chats", min=1, max=50)] = 3,
    generate: Annotated[
        bool, typer.Option("--generate", help="Generate and print a password.")
    ] = False,
    temporary: Annotated[
        bool,
        typer.Option(
            "--temporary", help="The user must choose their own password at the next sign-in."
        ),
    ] = False,
) -> None:
    """Create an account (asks for the password unless --generate)."""
    from accounts.errors import AccountError
    from accounts.users import create_user

    password, generated = _new_password(generate)

    async def work(session: Any) -> None:
        user = await create_user(session, username, password, role, display_name, max_open_chats)
        user.must_change_password = temporary

    try:
        run_db(settings_for(), work)
    except AccountError as exc:
        raise fail(str(exc), 2) from None
    typer.echo(f"Created {role} {username!r}." + (f" Password: {password}" if generated else ""))


@user_cli.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    generate: Annotated[
        bool, typer.Option("--generate", help="Generate and print a password.")
    ] = False,
    temporary: Annotated[
        bool,
        typer.Option(
            "--temporary", help="The user must choose their own password at the next sign-in."
        ),
    ] = False,
) -> None:
    """Set a new password (signs the user out everywhere)."""
    from accounts.errors import AccountError
    from accounts.users import set_password

    password, generated = _new_password(generate)

    async def work(session: Any) -> None:
        await set_password(session, username, password, temporary=temporary)

    try:
        run_db(settings_for(), work)
    except AccountError as exc:
        raise fail(str(exc), 2) from None
    typer.echo(
        f"Password of {username!r} changed." + (f" New password: {password}" if generated else "")
    )
