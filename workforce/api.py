"""The workforce API."""

from ninja import Router

router = Router(tags=["workforce"])
