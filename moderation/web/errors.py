"""One JSON shape for every API error: {"error": {"code", "message"}}."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from ..decisions import DecisionError
from ..queue import QueueConflict


class ApiError(Exception):
    """An error to return to the API caller."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    """The API's error body with its status."""
    return jsonify({"error": {"code": code, "message": message}}), status


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

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):  # type: ignore[no-untyped-def]
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        if not request.path.startswith("/api/"):
            return exc
        status = exc.code or 500
        if status == 405:
            message = f"{request.method} is not allowed here"
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
    def _conflict(exc: QueueConflict):  # type: ignore[no-untyped-def]
        return error_response(409, "conflict", str(exc))

    @app.errorhandler(DecisionError)
    def _bad_decision(exc: DecisionError):  # type: ignore[no-untyped-def]
        return error_response(422, "invalid_field", str(exc))

    @app.errorhandler(StaleDataError)
    def _stale(exc: StaleDataError):  # type: ignore[no-untyped-def]
        return error_response(
            409,
            "conflict",
            "this comment changed since you loaded it (someone else acted on it); reload and try again",
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if request.path.startswith("/api/"):
            return error_response(500, "internal", "internal error")
        return "Internal error", 500
