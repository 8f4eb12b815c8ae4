"""Readers' picks for the site: `GET /api/v1/articles/{id}/featured` (a `submit` key)."""

from __future__ import annotations

from flask import Blueprint

from ..workflow.featuring import FeaturedList, featured, featured_payload
from .api import require_key
from .errors import ApiError
from .extension import services
from .openapi import operation

bp = Blueprint("featured_api", __name__, url_prefix="/api/v1")


@bp.get("/articles/<site_id:site_id>/featured")
@require_key("submit")
@operation({200: (FeaturedList, "the article's readers' picks")}, errors=(404,))
def article_featured(site_id: str) -> FeaturedList:
    """The article's featured comments still shown, in the order editors featured them."""
    with services().sessions() as session:
        comments = featured(session, site_id)
        if comments is None:
            raise ApiError(404, "not_found", f"no article with id {site_id!r}")
        return {"article_id": site_id, "featured": [featured_payload(c) for c in comments]}
