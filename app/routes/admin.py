"""Administration: user accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field
from starlette import status

from accounts.errors import AccountError
from accounts.passwords import generate_password
from accounts.users import Role, all_users, create_user
from app.deps import AdminDep, ServicesDep
from app.errors import Conflict
from storage.models import User

router = APIRouter(prefix="/api/users")


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    role: Role
    display_name: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, min_length=10, max_length=200)
    max_open_chats: int = Field(default=3, ge=1, le=50)


def _user_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "team": user.team,
        "max_open_chats": user.max_open_chats,
        "is_active": user.is_active,
    }


@router.get("")
async def list_users(services: ServicesDep, signed: AdminDep) -> list[dict[str, Any]]:
    """Every account."""
    async with services.sessions() as session:
        return [_user_dict(u) for u in await all_users(session)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def add_user(
    services: ServicesDep, signed: AdminDep, body: Annotated[UserIn, Body()]
) -> dict[str, Any]:
    """Create an account; without a password one is generated and returned once."""
    password = body.password or generate_password()
    try:
        async with services.sessions.begin() as session:
            user = await create_user(
                session, body.username, password, body.role, body.display_name, body.max_open_chats
            )
            # a generated password is handed over: its owner chooses their own at sign-in
            user.must_change_password = not body.password
            created = _user_dict(user)
    except AccountError as exc:
        raise Conflict(str(exc)) from None
    return {**created, "password": None if body.password else password}
