"""The renovation API."""

from ninja import Router

router = Router(tags=["renovation"])
