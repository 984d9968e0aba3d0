"""Dependency aliases: routes reach the services through these (tests override them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.conversations import ConversationService
from app.services import Services
from app.settings import Settings


def get_services(connection: HTTPConnection) -> Services:
    services: Services = connection.app.state.services
    return services


def get_settings_dep(connection: HTTPConnection) -> Settings:
    return get_services(connection).settings


def get_conversations(connection: HTTPConnection) -> ConversationService:
    return get_services(connection).conversations


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ConversationsDep = Annotated[ConversationService, Depends(get_conversations)]
