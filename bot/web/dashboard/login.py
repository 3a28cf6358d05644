"""Logging in and out of the dashboard."""

from __future__ import annotations

import logging
import math

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.store.dashboard import Coordinator, DashboardSession
from bot.web.dashboard.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_HOURS,
    new_token,
    safe_next,
    session_expiry,
    token_hash,
    tokens_match,
)
from bot.web.dashboard.core import Dashboard, form_text
from bot.web.dashboard.login_guard import LoginBusy

log = logging.getLogger("parley.dashboard")


async def _checked(dash: Dashboard, email: str, ip: str, coordinator: Coordinator | None,
                   password: str) -> tuple[bool, str]:
    """The password check through the guard: (may log in, why it was refused if it was
    not even checked). A right password for a disabled login counts as a failure."""
    try:
        ok = await dash.login_guard.check(email, ip, coordinator.password_hash
                                          if coordinator else None, password)
    except LoginBusy:
        return False, "The server is busy checking other logins. Try again in a moment."
    if ok is None:
        minutes = max(1, math.ceil(dash.login_guard.blocked_for(email, ip) / 60))
        return False, (f"Too many failed attempts. Try again in {minutes} "
                       f"minute{'s' if minutes != 1 else ''}.")
    if ok and (coordinator is None or coordinator.disabled):
        await dash.login_guard.failed(email, ip)
        return False, ""
    return ok, ""


def routes(dash: Dashboard) -> list[BaseRoute]:
    def login_page(request: Request, *, error: str = "", status: int = 200,
                   email: str = "", target: str | None = None) -> Response:
        token = new_token()
        response = dash.html(request, "login.html", status=status, title="Log in",
                             login_csrf=token, error=error, email=email,
                             next=safe_next(target or request.query_params.get("next")))
        response.set_cookie(LOGIN_COOKIE, token, max_age=3600, path="/admin/login",
                            httponly=True, samesite="lax", secure=dash.secure_cookies)
        return response

    async def login(request: Request) -> Response:
        if request.method == "GET":
            if await dash.session_of(request) is not None:
                return RedirectResponse(safe_next(request.query_params.get("next")), 303)
            return login_page(request)
        form = await request.form()
        given = form.get("csrf")
        if not tokens_match(request.cookies.get(LOGIN_COOKIE),
                            given if isinstance(given, str) else None):
            return dash.forbidden(request, "This login form has expired or did not come "
                                  "from the dashboard. Reload the page and try again.")
        email = (await form_text(request, "email")).lower()
        target = await form_text(request, "next")
        password = form.get("password")
        ip = request.client.host if request.client else "?"
        coordinator = await dash.store.get_coordinator(email) if email else None
        ok, refusal = await _checked(dash, email, ip, coordinator,
                                     password if isinstance(password, str) else "")
        if refusal:
            return login_page(request, status=429, email=email, target=target, error=refusal)
        if not ok or coordinator is None:
            log.info("dashboard: failed login from %s", ip)
            return login_page(request, status=401, email=email, target=target,
                              error="That email and password do not match a coordinator "
                                    "login.")
        token, now = new_token(), dash.now()
        session = DashboardSession(token_hash(token), email, new_token(), now,
                                   session_expiry(now))
        await dash.store.create_dashboard_session(session)
        await dash.store.record_login(email, now)
        request.state.dashboard = session
        await dash.audit(request, "login")
        response = RedirectResponse(safe_next(target), status_code=303)
        response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_HOURS * 3600, path="/admin",
                            httponly=True, samesite="lax", secure=dash.secure_cookies)
        response.delete_cookie(LOGIN_COOKIE, path="/admin/login")
        return response

    async def logout(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await dash.store.delete_dashboard_session(token_hash(token))
        await dash.audit(request, "logout")
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/admin")
        return response

    return [Route("/login", login, methods=["GET", "POST"]),
            Route("/logout", dash.protect(logout), methods=["POST"])]
