"""Moderator log-in for the review page: Flask-Login sessions, CSRF on every form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from ..moderators import authenticate
from ..store import Moderator
from ..throttle import make_throttle
from .extension import services

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()


@dataclass(frozen=True)
class ModeratorUser(UserMixin):
    """The logged-in moderator, as Flask-Login sees them."""

    id: str
    username: str
    role: str

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return f"moderator:{self.username}"

    @property
    def is_admin(self) -> bool:
        """Admins manage moderators and API keys."""
        return self.role == "admin"


def _user(moderator: Moderator) -> ModeratorUser:
    return ModeratorUser(str(moderator.id), moderator.username, moderator.role)


@login_manager.user_loader
def _load(user_id: str) -> ModeratorUser | None:
    with services().sessions() as session:
        moderator = session.get(Moderator, int(user_id)) if user_id.isdigit() else None
        if moderator is None or moderator.disabled_at is not None:
            return None
        return _user(moderator)


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
def login():  # type: ignore[no-untyped-def]
    """Log in with username and password."""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        throttle = current_app.extensions["login_throttle"]
        address = request.remote_addr or "?"
        if throttle.blocked(username, address):
            minutes = max(1, round(throttle.window / 60))
            flash(f"Too many failed log-ins. Try again in {minutes} minutes.", "error")
            return render_template("review/login.html", username=username), 429
        with services().sessions() as session:
            moderator = authenticate(session, username, password)
            user = _user(moderator) if moderator else None
        if user is None:
            throttle.failed(username, address)
            flash("Wrong username or password.", "error")
            return render_template("review/login.html", username=username), 401
        throttle.succeeded(username, address)
        login_user(user)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("review/login.html", username="")


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    """End the session."""
    logout_user()
    flash("Logged out.", "info")
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    """Sessions, CSRF (the bearer-key API is exempt) and the log-in pages."""
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Log in to moderate."
    login_manager.init_app(app)
    csrf.init_app(app)
    app.extensions["login_throttle"] = make_throttle(
        app.config["REDIS_URL"], app.config["LOGIN_MAX_FAILURES"], app.config["LOGIN_WINDOW_SECONDS"]
    )
    app.register_blueprint(bp)
