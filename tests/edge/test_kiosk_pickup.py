"""来院领取: register, hand over with identity check and signature, 送达回证 filed as a page."""

from __future__ import annotations

import json

import pytest
from kiosk_kit import Kiosk, field_error, kiosk  # noqa: F401

CASE = "（2026）京0102民初88号"


@pytest.fixture
def clerk(kiosk: Kiosk) -> Kiosk:
    kiosk.login("C01")
    return kiosk


def _register(k: Kiosk, **over: str):
    form = {
        "rows": "3",
        "case": CASE,
        "addressee": "王五",
        "doc-0-name": "民事判决书",
        "doc-0-copies": "2",
        "doc-1-name": "送达地址确认书",
        "doc-1-copies": "1",
        "action": "save",
    }
    form.update(over)
    return k.post("/pickup/register", form)


def _pickup_id(k: Kiosk) -> str:
    return k.db.execute("SELECT id FROM pickups").fetchone()[0]


@pytest.mark.parametrize(
    "over, field, message",
    [
        ({"case": ""}, "case", "请填写“案号”"),
        ({"case": "京0102民初88号"}, "case", "格式不正确"),
        ({"addressee": ""}, "addressee", "请填写“受送达人”"),
        ({"doc-0-copies": "0"}, "doc-0-copies", "应为 1 至 100 的整数"),
        ({"doc-2-copies": "1"}, "case", None),  # an empty row with the prefilled copies is not a document
        ({"doc-0-name": "", "doc-0-copies": "", "doc-1-name": "", "doc-1-copies": ""}, "doc-0-name", "文书（至少一项）"),
    ],
)
def test_register_refusals(clerk: Kiosk, over: dict, field: str, message: str | None) -> None:
    r = _register(clerk, **over)
    if message is None:
        assert r.status_code == 302
        return
    assert r.status_code == 400 and message in (field_error(r.text, field) or "")


def test_add_document_row_without_javascript(clerk: Kiosk) -> None:
    r = _register(clerk, action="add_row")
    assert 'id="doc-3-name"' in r.text and 'value="民事判决书"' in r.text


def test_handover_files_the_signed_receipt_as_a_page_and_prints_it(clerk: Kiosk) -> None:
    _register(clerk)
    pid = _pickup_id(clerk)
    assert "王五" in clerk.client.get("/pickup/").text
    r = clerk.post(f"/pickup/{pid}/handover", {"id_type": "resident_id", "id_number": "110101199001011234"})
    assert r.status_code == 400
    assert "已核对受送达人身份" in field_error(r.text, "identity_checked")
    assert "请受送达人在屏幕上签名" in field_error(r.text, "sig_addressee-typed")
    r = clerk.post(
        f"/pickup/{pid}/handover",
        {"id_type": "resident_id", "id_number": "110101199001011234", "identity_checked": "1", "sig_addressee-typed": "王五"},
    )
    assert r.status_code == 302
    row = clerk.db.execute("SELECT handed_at, intake_id, page_id, id_number FROM pickups").fetchone()
    assert row[0] and row[1] and row[2] and b"110101199001011234" not in row[3]
    page = clerk.db.execute(
        "SELECT p.item_id, p.page_no, p.role, i.name, i.catalog_dir, b.kind FROM pages p JOIN items i ON i.id = p.item_id"
        " JOIN blobs b ON b.id = p.blob_id WHERE p.id = ?",
        [row[2]],
    ).fetchone()
    assert page[1:4] == (1, "page", "送达回证") and "送达回证" in page[4] and page[5] == "page"
    assert clerk.db.execute("SELECT kind, state FROM print_jobs").fetchall() == [("service", "printed")]
    shown = clerk.client.get(f"/pickup/{pid}").text
    assert "已归入案件卷宗" in shown and "送达回证" in shown
    again = clerk.post(f"/pickup/{pid}/handover", {"identity_checked": "1", "sig_addressee-typed": "王五"})
    assert again.status_code == 400 and "已于" in again.text
    assert json.loads(clerk.audit("pickup_handover")[0][3])["signature"] == "typed"


def test_the_receipt_page_decrypts_to_the_signed_image_and_travels_in_the_next_batch(clerk: Kiosk) -> None:
    import io

    from PIL import Image

    from juanzong.edge import batches
    from juanzong.edge.blobstore import BlobStore
    from juanzong.edge.keys import load_keys
    from juanzong.shared.crypto import open_blob_local

    _register(clerk)
    pid = _pickup_id(clerk)
    clerk.post(f"/pickup/{pid}/handover", {"identity_checked": "1", "sig_addressee-typed": "王五"})
    page_id = clerk.db.execute("SELECT page_id FROM pickups").fetchone()[0]
    blob = clerk.db.execute(
        "SELECT b.id, b.kind, b.wrapped_local FROM pages p JOIN blobs b ON b.id = p.blob_id WHERE p.id = ?", [page_id]
    ).fetchone()
    keys = load_keys(clerk.settings.keys_dir)
    plain = open_blob_local(
        BlobStore(clerk.settings.blob_dir).get(blob[0]),
        blob[2],
        kek=keys.kek,
        appliance_id=clerk.settings.appliance_id,
        blob_id=blob[0],
        kind=blob[1],
    )
    with Image.open(io.BytesIO(plain)) as im:
        assert im.size == (2480, 3508) and im.info["dpi"][0] == 300
    batch = batches.seal(clerk.db, clerk.settings.appliance_id, keys)
    manifest = json.loads(clerk.db.execute("SELECT manifest FROM batches WHERE id = ?", [batch]).fetchone()[0])
    assert page_id in [p["page_id"] for p in manifest["pages"]]
