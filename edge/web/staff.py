"""操作员: who may log in here (supervisors only; adding and disabling is `edge operator`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from juanzong.edge import operators
from juanzong.edge.web.context import db

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("/")
def index() -> Any:
    return render_template("staff.html", operators=operators.list_all(db()))
