"""Every console page, one router per area; :func:`orderdesk.console.web.install` mounts it."""

from __future__ import annotations

from fastapi import APIRouter

from orderdesk.console import auth, board, capacity, intake, webhooks

router = APIRouter()
router.include_router(auth.router)
router.include_router(board.router)
router.include_router(capacity.router)
router.include_router(intake.router)
router.include_router(webhooks.router)
