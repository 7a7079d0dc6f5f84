"""Task API."""

from ninja import Router

router = Router(tags=["tasks"])
