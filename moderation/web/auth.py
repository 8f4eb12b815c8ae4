"""Moderator log-in for the review page: server-side sessions through Flask-Login, CSRF on every form.

The signed cookie carries a random session token (Flask-Login's user id); the database keeps its
SHA-256 in ``moderator_sessions``. Logging in starts a fresh cookie session (so a token for a form
rendered before log-in is refused after it), logging out revokes the row (so a copied cookie stops
working), and disabling a moderator revokes all of theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Request,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select

from ..accounts.moderators import authenticate, end_session, prune_sessions, session_moderator, start_session
from ..models import Moderator
from .extension import services
from .throttle import make_throttle

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()


@dataclass(frozen=True)
class ModeratorUser(UserMixin):
    """The logged-in moderator, as Flask-Login sees them."""

    id: str
    username: str
    role: str
    token: str = field(repr=False)

    def get_id(self) -> str:
        """What Flask-Login keeps in the cookie: the session token, not the account id."""
        return self.token

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return f"moderator:{self.username}"

    @property
    def is_admin(self) -> bool:
        """Admins manage moderators and API keys."""
        return self.role == "admin"


def _user(moderator: Moderator, token: str) -> ModeratorUser:
    return ModeratorUser(str(moderator.id), moderator.username, moderator.role, token)


def _lifetime() -> timedelta:
    return timedelta(hours=current_app.config["SESSION_LIFETIME_HOURS"])


@login_manager.user_loader
def _load(token: str) -> ModeratorUser | None:
    with services().sessions() as db, db.begin():
        moderator = session_moderator(db, token, _lifetime())
        return _user(moderator, token) if moderator else None


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Only admins get through."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("review.queue_view", state="pending")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Log in with username and password."""
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        throttle = current_app.extensions["login_throttle"]
        address = request.remote_addr or "?"
        if throttle.blocked(username, address):
            minutes = max(1, round(throttle.window / 60))
            flash(f"Too many failed log-ins. Try again in {minutes} minutes.", "error")
            return render_template("review/login.html", username=username), 429
        previous = session.get("_user_id")
        with services().sessions() as db, db.begin():
            moderator = authenticate(db, username, password)
            user = None
            if moderator is not None:
                if previous:
                    end_session(db, previous)
                prune_sessions(db, _lifetime())
                user = _user(moderator, start_session(db, moderator))
        if user is None:
            throttle.failed(username, address)
            flash("Wrong username or password.", "error")
            return render_template("review/login.html", username=username), 401
        throttle.succeeded(username, address)
        # A new cookie session: nothing from before log-in (its CSRF token above all) carries over.
        session.clear()
        login_user(user)
        return redirect(_safe_next(request.args.get("next")))
    with services().sessions() as db:
        first_run = db.scalar(select(Moderator.id).limit(1)) is None
    return render_template("review/login.html", username="", first_run=first_run)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session: revoked in the database, so a copy of the cookie is refused too."""
    token = session.get("_user_id")
    if token:
        with services().sessions() as db, db.begin():
            end_session(db, token)
    logout_user()
    session.clear()
    flash("Logged out.", "info")
    return redirect(url_for("auth.login"))


# The JSON API's paths: it authenticates each request with a bearer key, never a cookie.
API_PREFIX = "/api/"


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie session for the review pages; none for the JSON API, so a submitted
    comment costs no cookie read, signing set-up or session object (the API never uses one: a
    write to it fails loudly)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(API_PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    """Sessions, CSRF (the bearer-key API is exempt) and the log-in pages."""
    app.session_interface = CookieSessions()
    # Flask defines these keys (SameSite as None), so setdefault would change nothing. An explicit
    # SameSite from the app's config is kept; SESSION_COOKIE_SECURE comes from the environment.
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Log in to moderate."
    login_manager.init_app(app)
    csrf.init_app(app)
    app.extensions["login_throttle"] = make_throttle(
        app.config["REDIS_URL"], app.config["LOGIN_MAX_FAILURES"], app.config["LOGIN_WINDOW_SECONDS"]
    )
    app.register_blueprint(bp)
