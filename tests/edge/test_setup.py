"""Set-up a court can follow (issue 8, point 6): edge init and edge config, validated.

Every command runs as a child process on a real home; a refused value leaves
the configuration exactly as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from juanzong.edge import audit, repo
from juanzong.edge.config import load_settings
from juanzong.edge.hostcheck import filesystem_type


def jz(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "JUANZONG_HOME"}
    run = subprocess.run([sys.executable, "-P", "-m", "juanzong.shared.cli", *args], capture_output=True, text=True, timeout=120, env=env)
    if check:
        assert run.returncode == 0, run.stderr
    return run


def init(home: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    return jz("edge", "init", "--home", str(home), "--profile", "simulated", *extra, check=check)


def test_init_takes_court_hot_folder_printer_and_court_networks(tmp_path):
    home, hot = tmp_path / "edge", tmp_path / "scanner-hot"
    out = json.loads(
        init(
            home,
            "--court",
            "北京市东城区人民法院",
            "--hot-folder",
            str(hot),
            "--printer",
            "file-printer",
            "--court-network",
            "10.20.0.0/16",
            "--court-network",
            "192.168.8.0/24",
            "--json",
        ).stdout
    )
    settings = load_settings(home)
    assert settings.court == "北京市东城区人民法院" and settings.hot_folder == hot and hot.is_dir()
    assert [str(n) for n in settings.court_networks] == ["10.20.0.0/16", "192.168.8.0/24"]
    assert out["hot_folder"] == str(hot)
    assert "设备目录已建立" in init(tmp_path / "second").stdout  # the Chinese summary without --json


@pytest.mark.parametrize(
    "extra, code",
    [
        (("--court-network", "10.0.0.0/33"), "SETTINGS_INVALID"),
        (("--court-network", "0.0.0.0/0"), "COURT_NETWORK_TOO_WIDE"),
        (("--printer", "no-such-printer"), "PROFILE_NOT_FOUND"),
        (("--court", "北京市东城区\n人民法院"), "CONFIG_VALUE_INVALID"),  # one printed line: a newline broke the cover sheet
        (("--court", "法" * 51), "CONFIG_VALUE_INVALID"),
        (("--name", "扫描点\u202e"), "CONFIG_VALUE_INVALID"),
    ],
)
def test_init_refuses_bad_values_before_writing_anything(tmp_path, extra, code):
    run = init(tmp_path / "edge", *extra, check=False)
    assert run.returncode == 1 and run.stderr.startswith(f"错误 {code}: ")
    assert not (tmp_path / "edge" / "config.toml").exists()


def test_a_hot_folder_off_ram_is_refused_where_the_profile_requires_tmpfs(tmp_path):
    disk = Path(__file__).resolve().parent / ".."  # the repository's own disk, never tmpfs here
    if filesystem_type(disk) in ("tmpfs", "ramfs"):
        pytest.skip("the repository lies on tmpfs here")
    run = jz(
        "edge", "init", "--home", str(tmp_path / "edge"), "--profile", "fujitsu-fi-7160", "--hot-folder", str(tmp_path / "hot"), check=False
    )
    if filesystem_type(tmp_path) in ("tmpfs", "ramfs"):
        assert run.returncode == 0, run.stderr
    else:
        assert run.returncode == 1 and run.stderr.startswith("错误 HOT_FOLDER_NOT_RAM: ")


@pytest.mark.slow  # every setting shown, set and refused through `edge config` processes
def test_config_show_and_set_validate_then_write_on_record(tmp_path):
    home = tmp_path / "edge"
    init(home)
    shown = {r["name"]: r for r in json.loads(jz("edge", "config", "show", "--home", str(home), "--json").stdout)}
    assert shown["court"]["value"] == "" and shown["max_declared_pages"] == {**shown["max_declared_pages"], "value": 5000, "default": True}
    assert "court = （空）（默认）    # 法院名称，印在回执和封面页上" in jz("edge", "config", "show", "--home", str(home)).stdout

    jz("edge", "config", "set", "--home", str(home), "court", "北京市东城区人民法院")
    jz("edge", "config", "set", "--home", str(home), "court_networks", "10.20.0.0/16", "10.30.0.0/16")
    jz("edge", "config", "set", "--home", str(home), "max_declared_pages", "800")
    settings = load_settings(home)
    assert settings.court == "北京市东城区人民法院" and settings.max_declared_pages == 800
    assert [str(n) for n in settings.court_networks] == ["10.20.0.0/16", "10.30.0.0/16"]
    changes = [r.detail for r in audit.records(repo.connect(settings)) if r.action == "config_set"]
    assert [c["new"] for c in changes] == ["北京市东城区人民法院", ["10.20.0.0/16", "10.30.0.0/16"], 800]

    before = (home / "config.toml").read_bytes()
    for args, code in (
        (("court_networks", "10.0.0.0/33"), "SETTINGS_INVALID"),
        (("court_networks", "0.0.0.0/0"), "COURT_NETWORK_TOO_WIDE"),
        (("printer_profile", "no-such-printer"), "PROFILE_NOT_FOUND"),
        (("max_declared_pages", "很多"), "CONFIG_VALUE_INVALID"),
        (("max_declared_pages", "0"), "CONFIG_VALUE_INVALID"),
        (("central_url", "ftp://x"), "CONFIG_VALUE_INVALID"),
        (("court", " "), "CONFIG_VALUE_INVALID"),
        (("court", "北京市东城区\n人民法院"), "CONFIG_VALUE_INVALID"),
        (("court", "法" * 51), "CONFIG_VALUE_INVALID"),
        (("name", "立案庭\t扫描点"), "CONFIG_VALUE_INVALID"),
        (("appliance_id", "A-0000-0000-0"), "CONFIG_FIXED"),
        (("no_such_setting", "1"), "CONFIG_UNKNOWN"),
        (("hot_folder", str(home / "config.toml")), "CONFIG_VALUE_INVALID"),
    ):
        run = jz("edge", "config", "set", "--home", str(home), *args, check=False)
        assert run.returncode == 1 and run.stderr.startswith(f"错误 {code}: "), (args, run.stderr)
    assert (home / "config.toml").read_bytes() == before


def test_the_longest_court_name_allowed_prints_on_the_cover_sheet(tmp_path):
    """50 characters (the limit) on one line: the cover sheet renders with it."""
    from juanzong.edge.coversheet import CoverSheetInfo, render_cover_sheet
    from juanzong.shared.ids import Kind, new_id

    home = tmp_path / "edge"
    init(home, "--court", "新疆维吾尔自治区高级人民法院生产建设兵团分院" + "法" * 28)
    court = load_settings(home).court
    assert len(court) == 50
    sheet = render_cover_sheet(
        CoverSheetInfo(
            item_id=new_id(Kind.ITEM),
            intake_id=new_id(Kind.INTAKE),
            case_number="（2026）京0102民初1号",
            item_name="起诉状",
            declared_pages=1,
            court=court,
        )
    )
    assert sheet.size == (2480, 3508)
