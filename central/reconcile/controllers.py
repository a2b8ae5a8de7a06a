"""HTTP surface of reconciliation: the report as JSON."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.di import NamedDependency

from juanzong.central.home import Central
from juanzong.central.reconcile.report import build_report


class ReportController(Controller):
    path = "/api/report"
    tags = ["reconcile"]

    @get("/", sync_to_thread=True)
    def report(self, central: NamedDependency[Central]) -> dict[str, Any]:
        """Declared against received pages per intake and item; batches and sequence gaps per appliance."""
        return build_report(central.repo).to_dict()
