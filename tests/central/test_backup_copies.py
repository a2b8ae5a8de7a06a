"""The archive's setting `backup_copies_required`: `central backup` writes that many copies by
default and refuses fewer, with a stable code and a Chinese message (a court contract asks for two
copies, an archive procurement for three)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from central_kit import Scanner, run_cli, submit, upload
from litestar.testing import TestClient

from juanzong.central import audit
from juanzong.central.config import load_settings
from juanzong.central.home import open_central
from juanzong.shared.errors import AppError, ErrorCode


def require_copies(home: Path, n: int) -> None:
    config = home / "config.toml"
    text = re.sub(r"(?m)^backup_copies_required = \d+$", f"backup_copies_required = {n}", config.read_text("utf-8"))
    assert f"backup_copies_required = {n}" in text
    config.write_text(text, "utf-8")


def test_backup_honours_the_required_number_of_copies(
    client: TestClient, scanner: Scanner, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    intake = scanner.intake()
    item = scanner.item(intake, 1)
    pages = [scanner.page(item, 1)]
    upload(client, scanner, pages)
    assert submit(client, scanner.sign(scanner.manifest(1, [intake], [item], pages))).status_code == 201
    run_cli(["backup", "keygen", "--home", str(home), "--out", str(tmp_path / "recovery.key")], capsys)

    assert load_settings(home).backup_copies_required == 2  # the default
    require_copies(home, 3)
    with pytest.raises(AppError) as refused:
        run_cli(["backup", "--home", str(home), "--to", str(tmp_path / "disk"), "--copies", "2"], capsys)
    assert refused.value.code is ErrorCode.BACKUP_COPIES_TOO_FEW
    assert "至少 3 份" in refused.value.message and "不能只写 2 份" in refused.value.message
    assert not (tmp_path / "disk").exists()  # nothing written

    rc, out = run_cli(["backup", "--home", str(home), "--to", str(tmp_path / "disk"), "--json"], capsys)
    report = json.loads(out)
    assert rc == 0 and report["ok"] and len(report["copies"]) == 3
    central = open_central(load_settings(home))
    try:
        outcomes = [(r.outcome, r.detail.get("code")) for r, _ in audit.records(central.repo.engine) if r.action == "backup"]
    finally:
        central.close()
    assert outcomes == [("refused", "BACKUP_COPIES_TOO_FEW"), ("ok", None)]


def test_the_setting_must_be_at_least_one(home: Path) -> None:
    require_copies(home, 0)
    with pytest.raises(AppError) as err:
        load_settings(home)
    assert err.value.code is ErrorCode.SETTINGS_INVALID and "backup_copies_required" in err.value.message
