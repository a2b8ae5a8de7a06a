"""Offline backups of a central fed by real appliances: N verified BagIt copies, every damage
named by file, and a restore that `central verify` passes."""

from __future__ import annotations

import json
from pathlib import Path

import bagit
import pytest
from carry_kit import Medium, central_pages, cli, export, import_, make_site, prepared, scan_and_ingest

from juanzong.edge.tooling.demo import juanzong

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory):
    """A central holding one appliance's pages (carried on a medium), and its recovery key."""
    root = tmp_path_factory.mktemp("backup")
    site = make_site(root)
    scan_and_ingest(site.a)
    medium = Medium(root, "carry")
    try:
        prepared(site, site.a, medium, "备份测试")
        assert export(site.a, medium).returncode == 0
        assert import_(site, medium).returncode == 0
    finally:
        medium.unmount()
    key = root / "offline" / "recovery.key"
    key.parent.mkdir()
    out = juanzong("central", "backup", "keygen", "--home", str(site.central), "--out", str(key))
    assert "离线保管" in out.stdout
    return site, key


def test_backup_writes_verified_copies_that_bagit_also_accepts(fed, tmp_path: Path) -> None:
    site, _key = fed
    out = cli("central", "backup", "--home", str(site.central), "--to", str(tmp_path), "--copies", "3", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] and len(report["copies"]) == 3 and report["blobs"] >= central_pages(site)
    for copy in report["copies"]:
        bag = bagit.Bag(copy["path"])
        assert bag.is_valid() and "sha256" in bag.algorithms
        assert (Path(copy["path"]) / "data" / "keys.sealed").exists()
    # the private recovery key is nowhere in the backup or on central
    private = (_key.read_text().strip()).encode()
    for path in list(tmp_path.rglob("*")) + list(site.central.rglob("*")):
        if path.is_file():
            assert private not in path.read_bytes(), path


def test_verify_names_every_changed_missing_and_extra_file(fed, tmp_path: Path) -> None:
    site, _key = fed
    juanzong("central", "backup", "--home", str(site.central), "--to", str(tmp_path))  # the setting's 2 copies
    bag, _second = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    blobs = sorted((bag / "data" / "blobs").iterdir())
    changed, removed = blobs[0], blobs[1]
    data = bytearray(changed.read_bytes())
    data[-1] ^= 0xFF
    changed.write_bytes(bytes(data))
    removed.unlink()
    (bag / "data" / "stray.txt").write_text("不该在这里")

    out = cli("central", "backup", "verify", str(bag))
    assert out.returncode == 1
    assert f"被改动：data/blobs/{changed.name}" in out.stdout
    assert f"缺失：data/blobs/{removed.name}" in out.stdout
    assert "多出：data/stray.txt" in out.stdout
    checks = json.loads(cli("central", "backup", "verify", str(tmp_path), "--json").stdout)
    assert checks[0]["changed"] == [f"data/blobs/{changed.name}"] and checks[0]["extra"] == ["data/stray.txt"]


def test_restore_into_an_empty_home_passes_central_verify(fed, tmp_path: Path) -> None:
    site, key = fed
    juanzong("central", "backup", "--home", str(site.central), "--to", str(tmp_path / "disk"), "--copies", "2")
    restored = tmp_path / "restored"
    out = cli("central", "restore", "--home", str(restored), "--from", str(tmp_path / "disk"), "--recovery-key", str(key))
    assert out.returncode == 0, out.stderr
    verify = cli("central", "verify", "--home", str(restored), "--json")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert central_pages(type(site)(restored, site.a, site.b, site.root)) == central_pages(site)

    wrong = tmp_path / "wrong.key"
    juanzong("central", "backup", "keygen", "--out", str(wrong))
    out = cli("central", "restore", "--home", str(tmp_path / "other"), "--from", str(tmp_path / "disk"), "--recovery-key", str(wrong))
    assert out.returncode == 1 and "BACKUP_RECOVERY_KEY_INVALID" in out.stderr and "Traceback" not in out.stderr
