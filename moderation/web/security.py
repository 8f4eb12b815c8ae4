"""Security headers on every response: no framing, no MIME sniffing, no inline script or style.

The review page loads only its own stylesheet and script, and its one-click approve/reject buttons
must not be usable from a page that frames it (clickjacking), so the policy is strict and constant.
"""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",  # scripts, styles, images, fetches: this origin only, never inline
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # comment and queue URLs never leak to article sites
}


# Pages a moderator sees hold comments, authors' notes and fresh API keys: no cache keeps them
# (a shared computer's back button, a proxy). Static files may be cached.
NO_STORE_BLUEPRINTS = ("review", "auth")


def add_security_headers(response: Response) -> Response:
    """Set each header the view did not set itself."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.blueprint in NO_STORE_BLUEPRINTS:
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Add the headers to every response, pages, static files, errors and the JSON API alike."""
    app.after_request(add_security_headers)
