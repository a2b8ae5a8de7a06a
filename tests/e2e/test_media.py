"""Air-gapped carry: batches reach central and receipts come back on registered media alone.

Two real appliances and one real central (homes made by the commands an
operator runs), pages from the simulated scanner through real ingest, and a
real filesystem image loop-mounted as the medium where this machine allows it
(CI runs as root); a plain directory otherwise, said in the test output.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from carry_kit import (
    CASE,
    SUBMITTER,
    Medium,
    Site,
    appliance_id,
    audit_actions,
    audit_records,
    batch_states,
    central_batches,
    central_pages,
    cli,
    export,
    import_,
    make_site,
    prepared,
    receipts,
    register,
    scan_and_ingest,
)

from juanzong.edge.tooling.demo import free_port, juanzong, start, stop, wait_central

pytestmark = pytest.mark.e2e


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return make_site(tmp_path)


@pytest.fixture
def media(tmp_path: Path):
    made: list[Medium] = []

    def make(name: str, size_mb: int = 64) -> Medium:
        medium = Medium(tmp_path, name, size_mb)
        print(f"medium {name}: {medium.kind}")
        made.append(medium)
        return medium

    yield make
    for medium in made:
        medium.unmount()


def test_pages_reach_central_and_receipts_come_back_on_media_alone(site: Site, media) -> None:
    scanned = scan_and_ingest(site.a)
    medium = prepared(site, site.a, media("a"), "一号U盘")

    out = export(site.a, medium)
    assert out.returncode == 0, out.stderr
    exported = json.loads(out.stdout)
    assert exported["batch_count"] == 1 and exported["blobs_written"] >= scanned
    carry = json.loads(juanzong("edge", "status", "--home", str(site.a), "--json").stdout)["carry"]
    assert carry["waiting_batches"] == 1 and carry["on_medium_batches"] == 1 and carry["last_export"]["label"] == "一号U盘"
    assert "待送交介质的批次 1 个（1 个已写入介质，待中心回执）" in juanzong("edge", "status", "--home", str(site.a)).stdout

    result = import_(site, medium)
    assert result.returncode == 0, result.stderr
    imported = json.loads(result.stdout)
    assert imported["new"] == exported["batches"] and not imported["refused"]
    assert central_pages(site) == scanned
    report = json.loads(juanzong("central", "report", "--home", str(site.central), "--json").stdout)
    carried = {a["appliance_id"]: a["last_media_import"] for a in report["appliances"]}
    assert carried[appliance_id(site.a)] and carried[appliance_id(site.b)] is None
    rows = _office_overview_rows(site)
    assert "介质导入" in rows["无网扫描点a"] and "介质导入" not in rows["无网扫描点b"]

    out = cli("edge", "media", "receipts", "--home", str(site.a), "--from", str(medium.path), "--operator", "O01")
    assert out.returncode == 0, out.stderr
    assert "1 个批次已确认" in out.stdout
    assert batch_states(site.a) == ["acknowledged"]
    assert ("media_register", "ok") in audit_actions(site.central / "data" / "central.db")

    # on record on both sides: the operator, the medium and the hashes
    [batch] = exported["batches"]
    edge_db, central_db = site.a / "data" / "edge.db", site.central / "data" / "central.db"
    [written] = audit_records(edge_db, "media_export")
    manifest_sha256 = written["detail"]["manifests"][batch]
    assert (written["actor"], written["target"], written["outcome"]) == ("O01", exported["medium_id"], "ok")
    assert written["detail"]["toc_sha256"] == exported["toc_sha256"] and len(manifest_sha256) == 64
    [taken] = audit_records(edge_db, "media_receipts")
    assert (taken["actor"], taken["target"], taken["detail"]["acknowledged"]) == ("O01", exported["medium_id"], [batch])
    assert taken["detail"]["receipts"][batch]["manifest_sha256"] == manifest_sha256
    assert len(taken["detail"]["receipts"][batch]["receipt_sha256"]) == 64
    [received] = audit_records(central_db, "media_import")
    assert (received["actor"], received["target"]) == ("档案员甲", exported["medium_id"])
    assert received["detail"]["batches"][batch]["manifest_sha256"] == manifest_sha256
    assert received["detail"]["toc_sha256"] == exported["toc_sha256"]


def _office_overview_rows(site: Site) -> dict[str, str]:
    """The archive office's 总览, as a clerk sees it: each scanning point's table row by its name."""
    from litestar.testing import TestClient

    from juanzong.central.config import load_settings
    from juanzong.central.home import open_central
    from juanzong.central.office.app import create_office_app
    from juanzong.central.office.repository import OfficeRepository
    from juanzong.central.office.users import add_user
    from juanzong.shared import clock

    settings = load_settings(site.central)
    central = open_central(settings)
    try:
        add_user(
            OfficeRepository(central.repo.engine),
            central.repo.engine,
            "wang",
            "王档案",
            "clerk",
            "archive-2026-pass",
            actor="test",
            now=clock.now(),
        )
    finally:
        central.close()
    with TestClient(create_office_app(settings, secure=False)) as office:
        office.get("/login")
        office.post(
            "/login",
            data={"user_id": "wang", "password": "archive-2026-pass", "_csrf_token": office.cookies.get("jz_csrf")},
            follow_redirects=False,
        )
        page = office.get("/").text
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
    return {re.search(r"<strong>([^<]+)</strong>", r).group(1): r for r in rows}


def test_nothing_readable_on_the_medium(site: Site, media) -> None:
    scan_and_ingest(site.a)
    medium = prepared(site, site.a, media("plain"), "检查明文")
    assert export(site.a, medium).returncode == 0
    assert import_(site, medium).returncode == 0  # the medium comes back holding central's receipts too
    # text markers long enough that random ciphertext cannot contain them by chance (≥ 5 bytes)
    markers = [
        CASE.encode("utf-8"),
        "京0102民初".encode(),
        SUBMITTER.encode("utf-8"),
        "起诉状".encode(),
        CASE.encode("gb18030"),
        b"JFIF\x00",
        b"Exif\x00\x00",
        b"%PDF-",
        b"case_number",
        b"submitter",
    ]
    image_heads = (b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"\x89PNG", b"%PDF")
    files = medium.files()
    assert len(files) > 5 and any(p.parent.name == "receipts" for p in files)
    for path in files:
        data = path.read_bytes()
        assert not data.startswith(image_heads), f"an image or PDF in clear: {path.relative_to(medium.path)}"
        for marker in markers:
            assert marker not in data, f"{marker!r} readable in {path.relative_to(medium.path)}"


def test_replayed_medium_creates_nothing_new(site: Site, media) -> None:
    scan_and_ingest(site.a)
    medium = prepared(site, site.a, media("replay"), "重复导入")
    export(site.a, medium)
    assert import_(site, medium).returncode == 0
    pages, batches = central_pages(site), central_batches(site)

    again = json.loads(import_(site, medium).stdout)
    assert again["new"] == [] and len(again["replayed"]) == 1
    assert (central_pages(site), central_batches(site)) == (pages, batches)


def test_medium_of_another_appliance_and_unregistered_media_are_refused(site: Site, media) -> None:
    scan_and_ingest(site.b)
    medium_a = prepared(site, site.a, media("owned-by-a"), "甲的介质")

    out = export(site.b, medium_a)
    assert out.returncode == 1 and "MEDIA_WRONG_APPLIANCE" in out.stderr and "Traceback" not in out.stderr
    assert "登记给扫描设备" in out.stderr
    [refused] = audit_records(site.b / "data" / "edge.db", "media_export")
    assert (refused["actor"], refused["outcome"], refused["detail"]["code"]) == ("O01", "refused", "MEDIA_WRONG_APPLIANCE")

    stray = media("stray")
    out = export(site.b, stray)
    assert out.returncode == 1 and "MEDIA_NOT_REGISTERED" in out.stderr

    # a copied registration file (another stick) is not the registered medium
    out = cli(
        "edge",
        "media",
        "init",
        "--home",
        str(site.b),
        "--registration",
        str(site.root / "registration-甲的介质.json"),
        "--device",
        str(stray.path),
    )
    assert out.returncode == 1 and "MEDIA_WRONG_APPLIANCE" in out.stderr

    # the registration file copied from the registered medium onto another filesystem: not that medium
    if medium_a.kind != "directory" and stray.kind != "directory":
        shutil.copy(medium_a.path / "JUANZONG-MEDIUM.json", stray.path / "JUANZONG-MEDIUM.json")
        out = export(site.a, stray)
        assert out.returncode == 1 and "MEDIA_DEVICE_MISMATCH" in out.stderr and "可能被复制或调换" in out.stderr


def test_tampered_files_fail_their_batch_only(site: Site, media) -> None:
    medium = prepared(site, site.a, media("tamper"), "篡改")
    scan_and_ingest(site.a)
    first = json.loads(export(site.a, medium).stdout)["batches"][0]
    scan_and_ingest(site.a)
    exported = json.loads(export(site.a, medium).stdout)
    assert len(exported["batches"]) == 2
    second = exported["batches"][1]

    toc = json.loads(json.loads((medium.path / "juanzong" / appliance_id(site.a) / "toc.json").read_text())["body"])
    entries = {b["batch_id"]: b for b in toc["batches"]}
    blob = medium.path / "juanzong" / appliance_id(site.a) / "blobs" / entries[first]["blobs"][0][0]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))

    result = json.loads(import_(site, medium).stdout)
    assert result["new"] == [second]
    assert [r["batch_id"] for r in result["refused"]] == [first]
    assert result["refused"][0]["code"] == "MEDIA_BATCH_DAMAGED"

    # a manifest file swapped for another batch's: refused too, nothing stored
    batches_dir = medium.path / "juanzong" / appliance_id(site.a) / "batches"
    shutil.copy(batches_dir / f"{second}.jzm", batches_dir / f"{first}.jzm")
    result = json.loads(import_(site, medium).stdout)
    assert [r["batch_id"] for r in result["refused"]] == [first] and result["new"] == []
    assert central_batches(site) == 1

    # receipts back: the refused batch has none; a receipt of the other batch renamed to it is ignored
    receipts_dir = medium.path / "juanzong" / appliance_id(site.a) / "receipts"
    assert sorted(p.stem for p in receipts_dir.iterdir()) == [second]
    shutil.copy(receipts_dir / f"{second}.json", receipts_dir / f"{first}.json")
    out = receipts(site.a, medium)
    assert out.returncode == 1, out.stderr
    taken = json.loads(out.stdout)
    assert taken["acknowledged"] == [second]
    assert taken["ignored"] == [{"file": f"{first}.json", "reason": "回执不是这个批次的"}]
    states = {b["id"]: b["state"] for b in json.loads(cli("edge", "status", "--home", str(site.a), "--json").stdout)["batches"]}
    assert states == {first: "sealed", second: "acknowledged"}


def test_pulled_out_medium_then_resumed_export(site: Site, media) -> None:
    scanned = scan_and_ingest(site.a)
    medium = prepared(site, site.a, media("pulled"), "中途拔出")

    # the process dies after the second blob is written, like a stick pulled out or power lost
    crashed = export(site.a, medium, env={**os.environ, "JUANZONG_CRASH_AT": "media_blob:2"})
    assert crashed.returncode == 137
    refused = import_(site, medium)
    assert refused.returncode == 1 and "MEDIA_TOC_INVALID" in refused.stderr
    assert central_batches(site) == 0

    # the medium was pulled out: one of the two files written is cut short
    written = sorted((medium.path / "juanzong" / appliance_id(site.a) / "blobs").iterdir())
    assert len(written) == 2
    written[1].write_bytes(written[1].read_bytes()[:100])

    resumed = json.loads(export(site.a, medium).stdout)
    assert resumed["blobs_reused"] == 1 and resumed["blobs_written"] >= scanned - 1
    imported = json.loads(import_(site, medium).stdout)
    assert len(imported["new"]) == 1 and central_pages(site) == scanned


def test_full_medium_is_a_clear_error_and_nothing_half_accepted(site: Site, media) -> None:
    scan_and_ingest(site.a)
    small = media("small", size_mb=1)
    if small.kind == "directory":
        pytest.skip("no loop device here to make a full medium")
    prepared(site, site.a, small, "小容量")
    out = export(site.a, small)
    assert out.returncode == 1 and "MEDIA_WRITE_FAILED" in out.stderr and "空间不足" in out.stderr
    assert import_(site, small).returncode == 1 and central_batches(site) == 0
    assert batch_states(site.a) == ["sealed"]


def test_expired_and_unknown_media_are_refused_and_audited(site: Site, media) -> None:
    from juanzong.central.config import load_settings
    from juanzong.central.home import open_central
    from juanzong.central.media import import_medium
    from juanzong.shared.errors import AppError, ErrorCode
    from juanzong.shared.ids import Kind, new_id
    from juanzong.shared.manifest import sign_document
    from juanzong.shared.media import Registration

    scan_and_ingest(site.a)
    medium = prepared(site, site.a, media("expiring"), "过期")
    assert export(site.a, medium).returncode == 0
    central = open_central(load_settings(site.central))
    try:
        later = datetime.now(UTC) + timedelta(days=31)
        with pytest.raises(AppError) as err:
            import_medium(central, medium.path, actor="档案员", now=later)
        assert err.value.code is ErrorCode.MEDIA_EXPIRED

        # signed with this central's key but not on its record (say, issued after the backup it was restored from)
        issued = datetime.now(UTC)
        ghost = Registration(
            new_id(Kind.MEDIUM),
            appliance_id(site.a),
            "无记录",
            issued.isoformat(timespec="seconds"),
            (issued + timedelta(days=30)).isoformat(timespec="seconds"),
            central.central_id,
        )
        unknown = media("unknown")
        (unknown.path / "JUANZONG-MEDIUM.json").write_text(
            json.dumps({"registration": sign_document(ghost.to_doc(), central.keys.signing).to_wire()}), "utf-8"
        )
        with pytest.raises(AppError) as err:
            import_medium(central, unknown.path, actor="档案员", now=issued)
        assert err.value.code is ErrorCode.MEDIA_UNKNOWN
    finally:
        central.close()
    refusals = [
        r["detail"]["code"] for r in audit_records(site.central / "data" / "central.db", "media_import") if r["outcome"] == "refused"
    ]
    assert refusals == ["MEDIA_EXPIRED", "MEDIA_UNKNOWN"]

    other = site.root / "other-central"
    juanzong("central", "init", "--home", str(other), "--no-tls")
    juanzong("central", "enroll", "--home", str(other), str(site.a / "appliance-identity.json"))
    out = cli("central", "media", "import", "--home", str(other), "--from", str(medium.path))
    assert out.returncode == 1 and "MEDIA_REGISTRATION_INVALID" in out.stderr
    assert ("media_import", "refused") in audit_actions(other / "data" / "central.db")
    assert ("media_import", "refused") in audit_actions(site.central / "data" / "central.db")


def test_batch_delivered_both_ways_is_stored_once(site: Site, media, tmp_path: Path) -> None:
    scanned = scan_and_ingest(site.a)
    medium = prepared(site, site.a, media("both"), "双通道")
    assert export(site.a, medium).returncode == 0

    port = free_port()
    config = site.a / "config.toml"
    text = config.read_text("utf-8").replace('central_url = ""', f'central_url = "http://127.0.0.1:{port}"')
    config.write_text(text, "utf-8")
    server = start(["central", "serve", "--home", str(site.central), "--host", "127.0.0.1", "--port", str(port)], tmp_path / "central.log")
    try:
        wait_central(site.a)
        synced = juanzong("edge", "sync", "--home", str(site.a), "--json")
        assert "acknowledged" in synced.stdout
    finally:
        stop(server)
    assert batch_states(site.a) == ["acknowledged"]

    result = json.loads(import_(site, medium).stdout)
    assert result["new"] == [] and len(result["replayed"]) == 1
    assert central_batches(site) == 1 and central_pages(site) == scanned
    out = cli("edge", "media", "receipts", "--home", str(site.a), "--from", str(medium.path), "--json")
    assert json.loads(out.stdout)["already"] == result["replayed"]


def test_media_init_admits_the_medium_in_the_installed_udev_rules(site: Site, media) -> None:
    """`edge media init` renders the registered-media udev rules again into the root `edge lockdown --apply`
    installed them in (a staging root here: this machine's /etc/udev is never touched) and closes the
    preparation window; the medium is admitted by its filesystem UUID, another appliance's is not."""
    from juanzong.edge.config import load_settings
    from juanzong.edge.lockdown.media_rules import record_root
    from juanzong.edge.repo import connect

    root = site.root / "staging-root"
    for home in (site.a, site.b):
        db = connect(load_settings(home))
        record_root(db, root / home.name)
        db.close()
    flag = root / site.a.name / "run/juanzong/media-prepare"
    flag.parent.mkdir(parents=True)
    flag.write_text("", "utf-8")
    medium = media("udev")
    out = cli(
        "edge",
        "media",
        "init",
        "--home",
        str(site.a),
        "--registration",
        str(register(site, site.a, "规则")),
        "--device",
        str(medium.path),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    done = json.loads(out.stdout)
    assert done["udev_rules"]["written"] and done["udev_rules"]["window_closed"] and not flag.exists()
    rules = (root / site.a.name / "etc/udev/rules.d/69-juanzong-registered-media.rules").read_text("utf-8")
    if medium.kind == "directory":
        assert done["fs_uuid"] is None or done["fs_uuid"] in rules
    else:
        assert done["fs_uuid"] and f'ENV{{ID_FS_UUID}}=="{done["fs_uuid"]}", ENV{{JUANZONG_MEDIA}}="registered"' in rules
        assert done["medium_id"] in rules
    assert not (root / site.b.name / "etc/udev/rules.d/69-juanzong-registered-media.rules").exists()
    assert ("media_rules", "ok") in audit_actions(site.a / "data" / "edge.db")
