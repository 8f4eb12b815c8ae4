"""One JSON shape for every API error: {"error": {"code", "message"}}.

A database that cannot be reached (or drops the connection) answers 503 with `Retry-After`, and
is logged as one line per failure kind at most every few seconds, with no traceback and no query
parameters: comment text and report notes never reach the log.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from typing_extensions import TypedDict
from werkzeug.exceptions import HTTPException, NotFound

from ..logs import RateLimitedLog
from ..shapes import shape
from ..workflow.decisions import DecisionError
from ..workflow.queue import QueueConflict


@shape
class ErrorDetail(TypedDict):
    """What went wrong: a stable code to branch on, and a message for people."""

    code: str
    message: str


@shape
class ErrorBody(TypedDict):
    """Every error the API answers."""

    error: ErrorDetail


class ApiError(Exception):
    """An error to return to the API caller."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class PathNotFound(NotFound):
    """A value in the URL that nothing stored can have; its description is the message."""


RETRY_AFTER_SECONDS = 5


def is_outage(exc: BaseException) -> bool:
    """Whether a database error means the database is unreachable, gone or overloaded."""
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeoutError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def outage_summary(exc: BaseException) -> str:
    """The driver's first line of explanation, without SQL or parameters."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(cause).strip().splitlines()
    first = text[0][:200] if text else ""
    return f"{type(cause).__name__}: {first}" if first else type(cause).__name__


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    """The API's error body with its status."""
    body: ErrorBody = {"error": {"code": code, "message": message}}
    return jsonify(body), status


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


def init_app(app: Flask) -> None:
    """Make errors under /api/ answer in JSON, including Werkzeug's 404/405/413."""

    log = RateLimitedLog(app.logger)
    app.extensions["error_log"] = log

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> ResponseReturnValue:
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        if not request.path.startswith("/api/"):
            return exc
        status = exc.code or 500
        if status == 405:
            message = f"{request.method} is not allowed here"
        elif isinstance(exc, PathNotFound):
            message = exc.description or "not found"
        elif status == 404:
            message = "no such endpoint"
        elif status == 413:
            message = "the request body is too large"
        else:
            message = exc.description or exc.name
        response, status = error_response(status, _CODES.get(status, "error"), message)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response, status

    @app.errorhandler(QueueConflict)
    def _conflict(exc: QueueConflict) -> ResponseReturnValue:
        return error_response(409, "conflict", str(exc))

    @app.errorhandler(DecisionError)
    def _bad_decision(exc: DecisionError) -> ResponseReturnValue:
        return error_response(422, "invalid_field", str(exc))

    @app.errorhandler(StaleDataError)
    def _stale(exc: StaleDataError) -> ResponseReturnValue:
        return error_response(
            409,
            "conflict",
            "this comment changed since you loaded it (someone else acted on it); reload and try again",
        )

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeoutError)
    def _database_error(exc: Exception) -> ResponseReturnValue:
        if not is_outage(exc):
            return _unexpected(exc)
        log(
            logging.ERROR,
            f"database:{type(exc).__name__}",
            f"database unavailable, answering 503: {outage_summary(exc)}",
        )
        if request.path.startswith("/api/"):
            response, status = error_response(
                503, "database_unavailable", "the database is unavailable; retry shortly"
            )
        else:
            response, status = (
                Response("The service is unavailable; retry shortly.", mimetype="text/plain"),
                503,
            )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        # A traceback for the first of a kind; a count for the rest (a broken dependency can fail
        # every request, and the log must stay readable).
        log(
            logging.ERROR,
            f"unhandled:{type(exc).__name__}:{request.endpoint}",
            f"unhandled {type(exc).__name__} on {request.method} {request.path}",
            exc_info=exc,
        )
        if request.path.startswith("/api/"):
            return error_response(500, "internal", "internal error")
        return "Internal error", 500
