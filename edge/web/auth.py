"""Login and logout (工号 + 密码). The only screens open without a session."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from juanzong.edge import operators
from juanzong.edge.web.context import db, end_session, now, operator, settings, start_session
from juanzong.shared.errors import AppError

bp = Blueprint("auth", __name__)


@bp.get("/")
def home() -> Any:
    return redirect(url_for("dashboard.index") if operator() else url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("login.html", operator_id="", error=None)
    operator_id = request.form.get("operator_id", "").strip()
    try:
        op = operators.authenticate(db(), settings().appliance_id, operator_id, request.form.get("pin", ""), now())
    except AppError as err:
        return render_template("login.html", operator_id=operator_id, error=err.message), 401
    start_session(op)
    return redirect(_safe_next(request.args.get("next")) or url_for("dashboard.index"))


@bp.post("/logout")
def logout() -> Any:
    op, sid = operator(), session.get("sid")
    if op is not None and sid:
        end_session(sid, op.id, "logout")
    flash("已退出登录", "info")
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str | None:
    # only a path on this kiosk: never an open redirect
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None
