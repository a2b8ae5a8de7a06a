"""工作台 lists and the removable-media carry state of an air-gapped point."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk_kit import TZ, Kiosk, intake_form, kiosk  # noqa: F401

from juanzong.edge import media
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.keys import load_keys
from juanzong.shared import clock
from juanzong.shared.ids import Kind, new_id
from juanzong.shared.manifest import sign_document
from juanzong.shared.media import Registration, signed_bytes


def test_provisional_deadline_is_marked_in_the_dashboard_lists(kiosk: Kiosk) -> None:
    kiosk.clock.now = datetime(2026, 12, 31, 13, 0, tzinfo=TZ)  # 2027 arrangement not imported
    kiosk.login("C01")
    assert kiosk.post("/counter/intake/new", intake_form()).status_code == 302
    dashboard = kiosk.client.get("/dashboard/").text
    today = dashboard.split('id="today"')[1]
    waiting = dashboard.split('id="waiting"')[1].split("</table>")[0]
    assert "2027-01-04 12:00（暂定）" in today and "2027-01-04 12:00（暂定）" in waiting
    assert "2027-01-04 12:00（暂定）" in kiosk.client.get("/counter/intakes").text


def test_no_carry_state_without_media_or_waiting_batches(kiosk: Kiosk) -> None:
    kiosk.login("C01")
    assert 'id="carry-state"' not in kiosk.client.get("/dashboard/").text


def _registered_medium(k: Kiosk, central_keys: Any, device: Path, label: str) -> None:
    """A medium central registered for this appliance, prepared by `edge media init`'s function."""
    issued = k.clock.now.astimezone(UTC)
    reg = Registration(
        new_id(Kind.MEDIUM),
        k.settings.appliance_id,
        label,
        issued.isoformat(timespec="seconds"),
        (issued + timedelta(days=30)).isoformat(timespec="seconds"),
        "C-TEST",
    )
    registration = device.parent / "registration.json"
    registration.write_bytes(signed_bytes(sign_document(reg.to_doc(), central_keys.signing)))
    device.mkdir()
    media.init_medium(k.db, k.settings.appliance_id, load_keys(k.settings.keys_dir), registration, device, actor="S01", now=k.clock.now)


def test_carry_state_after_a_media_export(kiosk: Kiosk, central_keys: Any, tmp_path: Path) -> None:
    kiosk.login("C01")
    kiosk.post("/counter/intake/new", intake_form())
    device = tmp_path / "stick"
    _registered_medium(kiosk, central_keys, device, "一号U盘")
    card = kiosk.client.get("/dashboard/").text.split('id="carry-state"')[1].split("</section>")[0]
    assert "待送交批次 0 个" in card and "尚未用介质拷贝过" in card and "有效登记介质 1 个" in card

    kiosk.clock.advance(minutes=5)  # within the session idle limit
    with clock.use(lambda: kiosk.clock.now):  # the batch is sealed by the same clock
        report = media.export(
            kiosk.db,
            kiosk.settings.appliance_id,
            load_keys(kiosk.settings.keys_dir),
            BlobStore(kiosk.settings.blob_dir),
            device,
            actor="O01",
            now=kiosk.clock.now,
        )
    assert len(report.batches) == 1
    card = kiosk.client.get("/dashboard/").text.split('id="carry-state"')[1].split("</section>")[0]
    assert "待送交批次 1 个（1 个已写入介质，待中心回执），最早封存于 2026-03-02 10:05" in card
    assert "上次拷贝：2026-03-02 10:05，介质“一号U盘”，1 个批次" in card
