"""Device profiles: every shipped file validates, and a bad one is refused naming its field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from juanzong.edge.devices.profiles import (
    SCHEMAS,
    ApplianceProfile,
    PrinterProfile,
    ScannerProfile,
    Table,
    get_appliance,
    get_printer,
    get_scanner,
    load_profile,
    load_profiles,
    profiles_root,
)
from juanzong.shared.errors import AppError, ErrorCode

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "firmware_profiles"
SIMULATED = (SHIPPED / "scanners" / "simulated.toml").read_text(encoding="utf-8")
FILE_PRINTER = (SHIPPED / "printers" / "file-printer.toml").read_text(encoding="utf-8")


def write(root: Path, sub: str, stem: str, text: str) -> Path:
    path = root / sub / f"{stem}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def edited(text: str, old: str, new: str) -> str:
    assert old in text, f"fixture drifted: {old!r} not in profile"
    return text.replace(old, new, 1)


# --------------------------------------------------------------------------- shipped files


def test_every_shipped_profile_validates() -> None:
    files = sorted(SHIPPED.glob("*/*.toml"))
    profiles = load_profiles(SHIPPED)
    assert len(profiles) == len(files) >= 10
    assert [(p.kind, p.name) for p in profiles] == sorted((p.kind, p.name) for p in profiles)
    for p in profiles:
        s = p.summary()
        assert {"kind", "name", "title"} <= set(s) and s["name"] == p.path.stem
        json.dumps(s, ensure_ascii=False)


def test_contract_scanners_exist_with_their_behaviour() -> None:
    fujitsu = get_scanner("fujitsu-fi-7160", SHIPPED)
    assert fujitsu.duplex and fujitsu.duplex_order == "alternating" and fujitsu.tmpfs_required
    camera = get_scanner("te680", SHIPPED)
    assert not camera.duplex and camera.duplex_order == "simplex" and camera.colour == "colour"
    assert camera.dpi < 300  # a document camera is expected below the contract minimum
    assert get_scanner("yingyuan-x3120", SHIPPED).title.startswith("影源")
    share = get_scanner("network-share", SHIPPED)
    assert share.poll and share.settle_seconds >= 2
    sim = get_scanner("simulated", SHIPPED)
    assert sim.settle_seconds < 1 and not sim.tmpfs_required and not sim.poll
    for s in (fujitsu, camera, share, sim):
        assert isinstance(s, ScannerProfile) and s.barcode_backend in ("zxing", "pyzbar")


def test_contract_printers_exist_with_their_behaviour() -> None:
    p80, p58 = get_printer("escpos-80mm", SHIPPED), get_printer("escpos-58mm", SHIPPED)
    assert (p80.width_dots, p80.chinese) == (576, "raster")
    assert (p58.width_dots, p58.chinese) == (384, "raster")
    xp = get_printer("xprinter-gb18030", SHIPPED)
    assert xp.chinese == "gb18030" and xp.width_dots == 576
    fp = get_printer("file-printer", SHIPPED)
    assert fp.transport == "file" and not Path(fp.file_path).is_absolute()
    assert fp.file_output(Path("/srv/jz")) == Path("/srv/jz") / fp.file_path
    assert all(isinstance(p, PrinterProfile) for p in (p80, p58, xp, fp))


def test_appliance_pairs_with_shipped_devices() -> None:
    box = get_appliance("fanless-2core", SHIPPED)
    assert isinstance(box, ApplianceProfile) and box.cpu_cores == 2
    get_scanner(box.scanner, SHIPPED)
    get_printer(box.printer, SHIPPED)


def test_simulated_hot_folder_is_relative_to_home_and_filters_temp_files(tmp_path: Path) -> None:
    sim = get_scanner("simulated", SHIPPED)
    assert sim.hot_folder_path(tmp_path) == tmp_path / "hot"
    assert get_scanner("fujitsu-fi-7160", SHIPPED).hot_folder_path(tmp_path) == Path("/run/juanzong/hot")
    assert sim.accepts("scan_0001.jpg") and sim.accepts("SCAN_0002.JPG") and sim.matches_naming("scan_0001.jpg")
    for name in ("~$scan_0001.jpg", ".scan_0001.jpg", "scan_0001.jpg.part", "scan_0001.tmp", "scan_0001.gif"):
        assert not sim.accepts(name), name


# --------------------------------------------------------------------------- broken files


BROKEN_SCANNERS = [
    ("missing key", "settle_seconds = 0.2\n", "", "hot_folder.settle_seconds"),
    ("unknown key (typo)", "settle_seconds = 0.2", "setle_seconds = 0.2", "hot_folder.setle_seconds"),
    ("unknown top-level key", 'model = "simulated"', 'model = "simulated"\ncolor = "grey"', "color"),
    ("wrong type", "dpi = 300", 'dpi = "300"', "image.dpi"),
    ("int for bool", "poll = false", "poll = 0", "hot_folder.poll"),
    ("float for int", "max_pixels = 40_000_000", "max_pixels = 4.0e7", "image.max_pixels"),
    ("bad enum", 'colour = "colour"', 'colour = "rgb"', "image.colour"),
    ("bad list item", 'types = ["jpeg", "tiff", "png"]', 'types = ["jpeg", "gif"]', "files.types"),
    ("bad regex", "naming = '^scan_", "naming = '^scan_(", "files.naming"),
    ("schema version", "schema = 1", "schema = 2", "schema"),
    ("wrong kind", 'kind = "scanner"', 'kind = "printer"', "kind"),
    ("missing table", '[barcode]\nbackend = "zxing"\n', "", "barcode"),
    ("escaping path", 'path = "hot"', 'path = "../hot"', "hot_folder.path"),
    ("negative settle", "settle_seconds = 0.2", "settle_seconds = -1", "hot_folder.settle_seconds"),
    ("duplex contradiction", "enabled = false", "enabled = true", "duplex.order"),
]


@pytest.mark.parametrize(("case", "old", "new", "field"), BROKEN_SCANNERS, ids=[b[0] for b in BROKEN_SCANNERS])
def test_broken_scanner_profile_is_refused_naming_the_field(tmp_path: Path, case: str, old: str, new: str, field: str) -> None:
    path = write(tmp_path, "scanners", "simulated", edited(SIMULATED, old, new))
    with pytest.raises(AppError) as exc:
        load_profiles(tmp_path)
    err = exc.value
    assert err.code is ErrorCode.PROFILE_INVALID
    assert err.params["field"] == field
    assert field in err.message and str(path) in err.message


BROKEN_PRINTERS = [
    ("transport without its table", 'transport = "file"', 'transport = "network"', "network"),
    ("extra transport table", "[file]", "[usb]\nvendor_id = 1\nproduct_id = 2\n\n[file]", "usb"),
    ("absolute output path", 'path = "printer/receipts.escpos"', 'path = "/tmp/r.escpos"', "file.path"),
    ("odd print head width", "width_dots = 576", "width_dots = 500", "width_dots"),
    ("bad chinese mode", 'chinese = "raster"', 'chinese = "utf8"', "chinese"),
    ("bad transport", 'transport = "file"', 'transport = "bluetooth"', "transport"),
]


@pytest.mark.parametrize(("case", "old", "new", "field"), BROKEN_PRINTERS, ids=[b[0] for b in BROKEN_PRINTERS])
def test_broken_printer_profile_is_refused_naming_the_field(tmp_path: Path, case: str, old: str, new: str, field: str) -> None:
    write(tmp_path, "printers", "file-printer", edited(FILE_PRINTER, old, new))
    with pytest.raises(AppError) as exc:
        get_printer("file-printer", tmp_path)
    assert exc.value.code is ErrorCode.PROFILE_INVALID and exc.value.params["field"] == field


def test_name_must_equal_file_stem(tmp_path: Path) -> None:
    write(tmp_path, "scanners", "fi-7160-copy", SIMULATED)
    with pytest.raises(AppError) as exc:
        load_profiles(tmp_path)
    assert exc.value.params["field"] == "name" and "fi-7160-copy" in exc.value.message


def test_toml_syntax_error_is_profile_invalid(tmp_path: Path) -> None:
    path = write(tmp_path, "scanners", "simulated", SIMULATED.replace("[image]", "[image"))
    with pytest.raises(AppError) as exc:
        load_profile(path, "scanner")
    assert exc.value.code is ErrorCode.PROFILE_INVALID and "TOML" in exc.value.message


def test_appliance_referencing_a_missing_scanner_is_refused(tmp_path: Path) -> None:
    box = (SHIPPED / "appliances" / "fanless-2core.toml").read_text(encoding="utf-8")
    write(tmp_path, "appliances", "fanless-2core", box)
    write(tmp_path, "printers", "escpos-80mm", (SHIPPED / "printers" / "escpos-80mm.toml").read_text("utf-8"))
    with pytest.raises(AppError) as exc:
        load_profiles(tmp_path)
    assert exc.value.params["field"] == "scanner" and "fujitsu-fi-7160" in exc.value.message


@pytest.mark.parametrize("name", ["no-such-scanner", "../printers/file-printer", "", "Simulated"])
def test_unknown_name_is_profile_not_found(name: str) -> None:
    with pytest.raises(AppError) as exc:
        get_scanner(name, SHIPPED)
    assert exc.value.code is ErrorCode.PROFILE_NOT_FOUND


def test_env_overrides_profiles_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "scanners", "simulated", SIMULATED)
    monkeypatch.setenv("JUANZONG_PROFILES", str(tmp_path))
    assert profiles_root() == tmp_path
    assert [p.name for p in load_profiles()] == ["simulated"]
    monkeypatch.delenv("JUANZONG_PROFILES")
    assert profiles_root() == SHIPPED


def test_readme_documents_every_schema_field() -> None:
    readme = (SHIPPED / "README.md").read_text(encoding="utf-8")

    def keys(table: Table, prefix: str = "") -> list[str]:
        out: list[str] = []
        for key, spec in table.fields.items():
            out += keys(spec, f"{prefix}{key}.") if isinstance(spec, Table) else [prefix + key]
        return out

    for kind, schema in SCHEMAS.items():
        for key in keys(schema):
            assert f"`{key}`" in readme, f"{kind} field {key} is not documented in firmware_profiles/README.md"


# --------------------------------------------------------------------------- CLI


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-P", "-m", "juanzong.shared.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_cli_lists_profiles_as_json() -> None:
    run = _cli("profiles", "--json", env={"JUANZONG_PROFILES": str(SHIPPED)})
    assert run.returncode == 0, run.stderr
    listed = {(p["kind"], p["name"]): p for p in json.loads(run.stdout)}
    for key in [
        ("scanner", "fujitsu-fi-7160"),
        ("scanner", "yingyuan-x3120"),
        ("scanner", "te680"),
        ("scanner", "simulated"),
        ("scanner", "network-share"),
        ("printer", "escpos-80mm"),
        ("printer", "escpos-58mm"),
        ("printer", "xprinter-gb18030"),
        ("printer", "file-printer"),
    ]:
        assert key in listed
    assert listed[("scanner", "te680")]["title"] == "TE680 高拍仪"


def test_cli_reports_a_broken_profile_in_chinese(tmp_path: Path) -> None:
    write(tmp_path, "scanners", "simulated", edited(SIMULATED, 'colour = "colour"', 'colour = "rgb"'))
    run = _cli("profiles", env={"JUANZONG_PROFILES": str(tmp_path)})
    assert run.returncode == 1
    assert "PROFILE_INVALID" in run.stderr and "image.colour" in run.stderr and "设备配置" in run.stderr
