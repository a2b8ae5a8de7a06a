"""HTTP surface of reconciliation on the sync listener: nothing for appliances.

Every client of the sync listener holds an appliance certificate, and an
appliance may read its own receipts, nothing else. The report (every court's
intakes, case numbers, submitters) is served to no appliance: the archive office
reads it with `central report` until its own authenticated pages exist.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, get

from juanzong.central.api_errors import error_responses
from juanzong.shared.errors import AppError, ErrorCode


class ReportController(Controller):
    path = "/api/report"
    tags = ["reconcile"]

    @get("/", sync_to_thread=False, responses=error_responses(403))
    def report(self) -> dict[str, Any]:
        """Always 403 FORBIDDEN on the sync listener: report data is served to no appliance."""
        raise AppError(ErrorCode.FORBIDDEN, detail="对账报告不向扫描设备提供，请在中心使用 juanzong central report")
