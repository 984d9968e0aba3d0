"""Why a conversation goes to a person. The queue's priorities follow this order."""

from __future__ import annotations

from enum import StrEnum


class HandoffReason(StrEnum):
    FRUSTRATION = "frustration"
    LOW_CONFIDENCE = "low_confidence"
    CUSTOMER_REQUEST = "customer_request"
