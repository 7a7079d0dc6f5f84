"""The relief API."""

from ninja import Router

router = Router(tags=["relief"])
