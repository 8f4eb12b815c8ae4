"""Finding comments: by words in the text, author, article, status, who decided and date.

The same query lists "all comments" (no words) and one article's comments. Words match
case-insensitively anywhere in the text (``ILIKE`` on PostgreSQL; on SQLite ``LIKE`` folds ASCII
letters only), every word must appear, and ``%``, ``_`` and the escape character in them match
themselves. Pages are bounded, so no query reads more than one page of rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from ..categories import STATUSES
from ..models import Article, Author, Comment

MAX_WORDS = 8
MAX_PER_PAGE = 100
DECIDERS = ("machine", "moderator")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What to look for; every field is optional and they combine with AND."""

    text: str | None = None
    author: str | None = None  # the site's author id, or part of the name
    article: str | None = None  # the site's article id, or part of the title
    status: str | None = None  # one of STATUSES
    decided: str | None = None  # "machine": no moderator decided it; "moderator": one did
    since: date | None = None  # created on or after this day (UTC)
    until: date | None = None  # created on or before this day (UTC)
    article_id: str | None = None  # exactly this article (the site's id)

    def words(self) -> list[str]:
        """The distinct words of ``text``, at most MAX_WORDS of them."""
        seen: dict[str, None] = {}
        for word in (self.text or "").split():
            seen.setdefault(word.casefold(), None)
        return list(seen)[:MAX_WORDS]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def search_query(query: SearchQuery) -> Select[Any]:
    """The matching comments, newest first."""
    statement = select(Comment)
    for word in query.words():
        statement = statement.where(Comment.text.icontains(word, autoescape=True))
    if query.author:
        statement = statement.join(Author, Comment.author_id == Author.id).where(
            or_(Author.site_id == query.author, Author.name.icontains(query.author, autoescape=True))
        )
    if query.article:
        statement = statement.join(Article, Comment.article_id == Article.id).where(
            or_(Article.site_id == query.article, Article.title.icontains(query.article, autoescape=True))
        )
    if query.article_id:
        article = select(Article.id).where(Article.site_id == query.article_id).scalar_subquery()
        statement = statement.where(Comment.article_id == article)
    if query.status:
        if query.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        statement = statement.where(Comment.status == query.status)
    if query.decided == "machine":
        statement = statement.where(Comment.decided_by.is_(None))
    elif query.decided == "moderator":
        statement = statement.where(Comment.decided_by.is_not(None))
    elif query.decided is not None:
        raise ValueError(f"decided must be one of {', '.join(DECIDERS)}")
    if query.since:
        statement = statement.where(Comment.created_at >= _day_start(query.since))
    if query.until:
        statement = statement.where(Comment.created_at < _day_start(query.until + timedelta(days=1)))
    return statement.order_by(Comment.created_at.desc(), Comment.id.desc())


def search_comments(
    session: Session, query: SearchQuery, page: int = 1, per_page: int = 25
) -> tuple[list[Comment], int]:
    """One page of matching comments (at most MAX_PER_PAGE) and how many match in all."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    statement = search_query(query)
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    items = list(session.scalars(statement.limit(per_page).offset((max(page, 1) - 1) * per_page)))
    return items, total


def word_spans(text: str, words: list[str]) -> list[dict[str, Any]]:
    """Where each word occurs in ``text`` (case-insensitively), as spans ``highlight.pieces`` takes."""
    spans = []
    for word in words:
        for found in re.finditer(re.escape(word), text, re.IGNORECASE):
            if found.end() > found.start():
                spans.append({"start": found.start(), "end": found.end(), "rule": "search"})
    return spans
