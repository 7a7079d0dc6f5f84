"""The reopening API."""

from ninja import Router

router = Router(tags=["reopening"])
