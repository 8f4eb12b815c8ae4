"""Review pages that list any comment, not only queued ones: search, all comments (machine-approved
and machine-rejected ones included, so a moderator can overturn them) and one article's comments.

Approve and reject on these pages post to the review blueprint's decision form with the revision
the page showed, so overturning a machine verdict is an ordinary audited, webhook-pushed decision.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from flask import Blueprint, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from sqlalchemy import select

from ..categories import STATUSES
from ..models import Article
from ..shapes import OneOf
from ..workflow.search import DECIDERS, SearchQuery, search_comments, word_spans
from .extension import services
from .highlight import pieces
from .schemas import INT4_MAX, Text

bp = Blueprint("review_search", __name__, url_prefix="/review")
PER_PAGE = 25


def _blank_is_none(value: Any) -> Any:
    return value or None


Blank = BeforeValidator(_blank_is_none)  # an empty form field means "any"
Field200 = Annotated[Text | None, Field(max_length=200), Blank]


class SearchArgs(BaseModel):
    """The search form's query string (lax: query strings are text)."""

    model_config = ConfigDict(extra="ignore")

    q: Field200 = None
    author: Field200 = None
    article: Field200 = None
    status: Annotated[Annotated[str, OneOf(STATUSES)] | None, Blank] = None
    decided: Annotated[Annotated[str, OneOf(DECIDERS)] | None, Blank] = None
    since: Annotated[date | None, Blank] = None
    until: Annotated[date | None, Blank] = None
    page: Annotated[int, Field(ge=1, le=INT4_MAX)] = 1

    def query(self, article_id: str | None = None) -> SearchQuery:
        """The core's query; ``article_id`` is an article page's own article."""
        return SearchQuery(
            self.q, self.author, self.article, self.status, self.decided, self.since, self.until, article_id
        )


def _args() -> SearchArgs:
    try:
        return SearchArgs.model_validate(request.args.to_dict())
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors(include_url=False))
        abort(400, f"Check the search form: {fields}.")


def _results(
    title: str,
    query: SearchQuery,
    args: SearchArgs,
    endpoint: str,
    endpoint_args: dict[str, Any] | None = None,
    **extra: Any,
) -> ResponseReturnValue:
    svc = services()
    words = query.words()
    with svc.sessions() as session:
        comments, total = search_comments(session, query, args.page, PER_PAGE)
        items = [
            {
                "comment": c,
                "pieces": pieces(c.text, word_spans(c.text, words)),
                "machine": c.decided_by is None,
            }
            for c in comments
        ]
    link_args = {**{k: v for k, v in request.args.items() if k != "page" and v}, **(endpoint_args or {})}
    return render_template(
        "review/search.html",
        title=title,
        args=args,
        items=items,
        total=total,
        per_page=PER_PAGE,
        here=url_for(endpoint, **(endpoint_args or {})),
        endpoint=endpoint,
        link_args=link_args,
        statuses=STATUSES,
        deciders=DECIDERS,
        site_rules=svc.pipeline.rules.breakable_site_rules(),
        **extra,
    )


@bp.get("/search")
@login_required
def search() -> ResponseReturnValue:
    """Comments by words, author, article, status, decider and date, with the words highlighted."""
    args = _args()
    return _results("Search", args.query(), args, endpoint="review_search.search")


@bp.get("/all")
@login_required
def all_comments() -> ResponseReturnValue:
    """Every comment, newest first, whoever decided it: the machine or a moderator."""
    args = _args()
    return _results("All comments", args.query(), args, endpoint="review_search.all_comments")


@bp.get("/articles/<site_id:article_id>")
@login_required
def article_view(article_id: str) -> ResponseReturnValue:
    """One article's comments, with its title and a link to it."""
    args = _args()
    with services().sessions() as session:
        article = session.scalar(select(Article).where(Article.site_id == article_id))
        if article is None:
            abort(404)
    return _results(
        article.title or article.site_id,
        args.query(article_id=article.site_id),
        args,
        endpoint="review_search.article_view",
        endpoint_args={"article_id": article.site_id},
        article=article,
    )
