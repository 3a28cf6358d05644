"""The dashboard's shared machinery: HTML rendering, login checks, CSRF, audit.

HTML comes from its own jinja2 ``Environment`` with autoescaping on (participants'
words are shown here); the plain-text message renderer is never used for pages.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.service import ParleyService
from bot.store.base import Store
from bot.store.dashboard import DashboardSession
from bot.web.dashboard.auth import SESSION_COOKIE, token_hash, tokens_match
from bot.web.dashboard.login_guard import LoginGuard

log = logging.getLogger("parley.dashboard")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                "script-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Handler = Callable[[Request], Awaitable[Response]]


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(["html", "svg"], default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = lambda v, digits=0: "–" if v is None else f"{v * 100:.{digits}f}%"
    env.filters["num"] = lambda v, digits=1: "–" if v is None else f"{v:.{digits}f}"
    return env


class Dashboard:
    """One per app: the service it shows, the template environment, the login limiter."""

    def __init__(self, service: ParleyService) -> None:
        self.service = service
        self.env = _env()
        self.login_guard = LoginGuard(service.metrics, store=service.runtime.store)
        config = service.runtime.config
        self.secure_cookies = config.server.public_url.lower().startswith("https://")
        self.zone = ZoneInfo(config.schedule.timezone)
        self.env.filters["when"] = self.when
        self.env.globals["project_name"] = config.project.name
        self.env.globals["unit"] = config.credits.unit

    @staticmethod
    def static_dir() -> Path:
        return TEMPLATES.parent / "static"

    @property
    def store(self) -> Store:
        return self.service.runtime.store

    def now(self) -> dt.datetime:
        return self.service.runtime.clock.now()

    def when(self, value: dt.datetime | str | None, fmt: str = "%a %-d %b %Y, %H:%M") -> str:
        """A stored UTC time in the project's time zone, for people."""
        if value is None or value == "":
            return "–"
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value)
            except ValueError:
                return str(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(self.zone).strftime(fmt)

    # -- responses ----------------------------------------------------------------------
    def html(self, request: Request, template: str, *, status: int = 200,
             **context: Any) -> HTMLResponse:
        session: DashboardSession | None = getattr(request.state, "dashboard", None)
        body = self.env.get_template(template).render(
            request=request, user=session.email if session else None,
            csrf=session.csrf_token if session else "", path=request.url.path,
            active=context.pop("active", ""), needs=getattr(request.state, "needs", 0),
            **context)
        return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)

    def forbidden(self, request: Request, reason: str) -> HTMLResponse:
        return self.html(request, "error.html", status=403, title="Refused",
                         message=reason)

    def not_found(self, request: Request, what: str = "That page") -> HTMLResponse:
        return self.html(request, "error.html", status=404, title="Not found",
                         message=f"{what} does not exist (or was erased).")

    # -- sessions -----------------------------------------------------------------------
    async def session_of(self, request: Request) -> DashboardSession | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        session = await self.store.get_dashboard_session(token_hash(token), self.now())
        if session is None:
            return None
        coordinator = await self.store.get_coordinator(session.email)
        if coordinator is None or coordinator.disabled:
            return None
        return session

    def protect(self, handler: Handler) -> Handler:
        """Login required (anonymous → login page); CSRF token required on POST."""

        async def endpoint(request: Request) -> Response:
            session = await self.session_of(request)
            if session is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query
                                             else "")
                return RedirectResponse(f"/admin/login?next={quote(target, safe='/')}",
                                        status_code=303)
            request.state.dashboard = session
            request.state.needs = await self.store.attention_count()  # the nav's count
            if request.method not in ("GET", "HEAD"):
                form = await request.form()
                given = form.get("csrf") or request.headers.get("x-csrf-token")
                if not tokens_match(session.csrf_token, given if isinstance(given, str)
                                    else None):
                    log.warning("dashboard: refused %s %s without a valid CSRF token",
                                request.method, request.url.path)
                    return self.forbidden(request, "This form has expired or did not come "
                                          "from the dashboard. Go back, reload the page and "
                                          "try again.")
            return await handler(request)

        return endpoint

    async def audit(self, request: Request, action: str, subject: str = "",
                    **detail: Any) -> None:
        """Record a coordinator action in the audit log shared with the CLI and Telegram
        commands (``Store.audit_add``)."""
        from bot.store.round_records import AuditEntry

        session: DashboardSession | None = getattr(request.state, "dashboard", None)
        await self.store.audit_add(AuditEntry(
            at=self.now(), actor=session.email if session else "anonymous", action=action,
            subject=subject, detail={"via": "dashboard", **detail}))


async def form_text(request: Request, name: str, default: str = "") -> str:
    form = await request.form()
    value = form.get(name, default)
    return value.strip() if isinstance(value, str) else default
