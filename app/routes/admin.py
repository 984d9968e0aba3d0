"""Administration: user accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field
from starlette import status

from accounts.errors import AccountError, DuplicateUser
from accounts.passwords import generate_password
from accounts.users import Role, all_users, create_user
from app.deps import AdminDep, ServicesDep
from app.errors import Conflict, HTTPError
from app.routes._fields import A_NUMBER
from app.routes._responses import SIGNED_IN, refused
from storage.models import User

router = APIRouter(prefix="/api/users", responses=SIGNED_IN)


class InvalidUser(HTTPError):
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    code = "invalid_user"


class UserIn(BaseModel):
    # letters and digits of any script, '.', '-' and '_': accounts.users.create_user's rule
    # (Python's \w is str.isalnum() or '_'), which refuses others with its message
    username: str = Field(min_length=1, max_length=64, json_schema_extra={"pattern": r"^[\w.-]+$"})
    role: Role
    display_name: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, min_length=10, max_length=200)
    max_open_chats: Annotated[int, Field(ge=1, le=50), A_NUMBER] = 3


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


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=refused(400, 409, 422, why={409: "There is already a user with this name"}),
)
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
    except DuplicateUser as exc:
        raise Conflict(str(exc)) from None
    except AccountError as exc:  # a name or password the accounts refuse
        raise InvalidUser(str(exc)) from None
    return {**created, "password": None if body.password else password}
