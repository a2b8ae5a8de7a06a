"""A provisional deadline (（暂定）) reaches the report, and the recomputed one replaces it."""

from __future__ import annotations

from pathlib import Path

import pytest
from central_kit import Scanner, report_json, run_cli, submit
from litestar.testing import TestClient


def test_provisional_then_recomputed_deadline_in_the_report(
    client: TestClient, scanner: Scanner, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    intake = {
        **scanner.intake(),
        "received_at": "2027-02-04T15:00:00+08:00",
        "deadline": "2027-02-11T12:00:00+08:00",
        "deadline_provisional": True,
    }
    legacy = scanner.intake()  # an older appliance: no such field → official
    assert submit(client, scanner.sign(scanner.manifest(1, [intake, legacy], [], []))).status_code == 201
    lines = {i["intake_id"]: i for i in report_json(client)["intakes"]}
    assert lines[intake["intake_id"]]["deadline_provisional"] is True
    assert lines[legacy["intake_id"]]["deadline_provisional"] is False
    rc, text = run_cli(["report", "--home", str(home)], capsys)
    assert rc == 0 and "办理时限 2027-02-11T12:00:00+08:00（暂定）" in text

    # the appliance imported the arrangement: the intake travels again, recomputed and official
    recomputed = {**intake, "deadline": "2027-02-12T12:00:00+08:00", "deadline_provisional": False}
    assert submit(client, scanner.sign(scanner.manifest(2, [recomputed], [], []))).status_code == 201
    line = next(i for i in report_json(client)["intakes"] if i["intake_id"] == intake["intake_id"])
    assert (line["deadline"], line["deadline_provisional"]) == ("2027-02-12T12:00:00+08:00", False)
    rc, text = run_cli(["report", "--home", str(home)], capsys)
    assert "办理时限 2027-02-12T12:00:00+08:00" in text and "（暂定）" not in text
