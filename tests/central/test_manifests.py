"""POST /api/manifests: verify, store once, and only then answer with a signed receipt."""

from __future__ import annotations

import json
from typing import Any

from central_kit import CASE_NUMBER, Scanner, make_scanner, report_json, sign_raw, submit, upload
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import TestClient
from sqlalchemy import update

from juanzong.central import db
from juanzong.central.app import create_app
from juanzong.central.appliances import enroll, read_identity
from juanzong.central.config import CentralSettings
from juanzong.central.home import open_central
from juanzong.shared import crypto
from juanzong.shared.ids import format_id
from juanzong.shared.manifest import Receipt, Signed, open_signed


def one_item_batch(scanner: Scanner, seq: int = 1, declared: int = 3, received: int = 2) -> tuple[dict[str, Any], list[Any]]:
    intake = scanner.intake()
    item = scanner.item(intake, declared)
    pages = [scanner.page(item, n) for n in range(1, received + 1)]
    return scanner.manifest(seq, [intake], [item], pages), pages


def page_count(settings: CentralSettings) -> int:
    central = open_central(settings)
    try:
        return central.repo.page_count()
    finally:
        central.close()


def test_happy_path_returns_a_receipt_signed_by_central(
    client: TestClient, scanner: Scanner, central_identity: dict[str, Any], settings: CentralSettings
) -> None:
    doc, pages = one_item_batch(scanner)
    upload(client, scanner, pages)
    signed = scanner.sign(doc)
    resp = submit(client, signed)
    assert resp.status_code == 201, resp.text
    wire = resp.json()["receipt"]
    central_key = crypto.load_verify_key(crypto.unb64(central_identity["signing_public"]))
    receipt = open_signed(Signed.from_wire(wire), central_key, Receipt)  # raises unless central signed exactly these bytes
    assert receipt.kind == "receipt"
    assert receipt.manifest_sha256 == crypto.sha256_hex(signed.body)
    assert (receipt.appliance_id, receipt.batch_id, receipt.seq, receipt.pages) == (scanner.appliance_id, doc["batch_id"], 1, 2)
    assert page_count(settings) == 2
    report = report_json(client)
    assert report["intakes"][0]["case_number"] == CASE_NUMBER


def test_signature_by_another_key_is_refused(client: TestClient, scanner: Scanner, settings: CentralSettings) -> None:
    doc, pages = one_item_batch(scanner)
    upload(client, scanner, pages)
    resp = submit(client, sign_raw(doc, Ed25519PrivateKey.generate()))
    assert resp.status_code == 403 and resp.json()["error"] == "MANIFEST_SIGNATURE_INVALID"
    assert page_count(settings) == 0


def test_tampered_body_is_refused(client: TestClient, scanner: Scanner, settings: CentralSettings) -> None:
    doc, pages = one_item_batch(scanner)
    upload(client, scanner, pages)
    signed = scanner.sign(doc)
    tampered = Signed(signed.body.replace("张三".encode(), "李四".encode()), signed.signature)
    assert tampered.body != signed.body
    resp = submit(client, tampered)
    assert resp.status_code == 403 and resp.json()["error"] == "MANIFEST_SIGNATURE_INVALID"
    assert page_count(settings) == 0


def test_manifest_from_an_unenrolled_appliance_is_refused(tmp_path: Any, client: TestClient, central_identity: dict[str, Any]) -> None:
    stranger = make_scanner(tmp_path, central_identity, name="陌生设备")
    doc, _ = one_item_batch(stranger)
    resp = submit(client, stranger.sign(doc))
    assert resp.status_code == 403 and resp.json()["error"] == "APPLIANCE_UNKNOWN"


def test_missing_blobs_are_counted_and_nothing_is_stored(client: TestClient, scanner: Scanner, settings: CentralSettings) -> None:
    doc, pages = one_item_batch(scanner, declared=3, received=3)
    upload(client, scanner, pages[:1])
    signed = scanner.sign(doc)
    resp = submit(client, signed)
    assert resp.status_code == 409
    assert resp.json()["error"] == "MANIFEST_BLOB_MISSING" and resp.json()["params"]["count"] == 2
    assert "2 个数据块" in resp.json()["message"]
    assert page_count(settings) == 0
    upload(client, scanner, pages[1:])  # the appliance's retry after uploading the rest
    assert submit(client, signed).status_code == 201


def test_replay_returns_the_stored_receipt_and_adds_no_pages(client: TestClient, scanner: Scanner, settings: CentralSettings) -> None:
    doc, pages = one_item_batch(scanner)
    upload(client, scanner, pages)
    signed = scanner.sign(doc)
    first = submit(client, signed)
    replays = [submit(client, signed) for _ in range(3)]
    assert first.status_code == 201
    assert [r.status_code for r in replays] == [200, 200, 200]
    assert all(r.json() == first.json() for r in replays)
    assert page_count(settings) == 2


def test_receipt_survives_a_restart(settings: CentralSettings, scanner: Scanner) -> None:
    doc, pages = one_item_batch(scanner)
    signed = scanner.sign(doc)
    with TestClient(create_app(settings)) as client:
        upload(client, scanner, pages)
        first = submit(client, signed).json()
    with TestClient(create_app(settings)) as client:
        again = submit(client, signed)
    assert again.status_code == 200 and again.json() == first


def test_commit_without_stored_receipt_is_answered_on_replay(client: TestClient, scanner: Scanner, settings: CentralSettings) -> None:
    """A crash between the batch commit and storing the receipt: the retry still gets the same receipt."""
    doc, pages = one_item_batch(scanner)
    upload(client, scanner, pages)
    signed = scanner.sign(doc)
    first = submit(client, signed).json()
    central = open_central(settings)
    try:
        with central.repo.engine.begin() as conn:  # simulate the crash: the receipt columns never written
            conn.execute(update(db.batches).values(receipt=None, receipt_signature=None))
    finally:
        central.close()
    again = submit(client, signed)
    assert again.status_code == 200
    assert again.json() == first  # same stored received_at, deterministic Ed25519: the same bytes
    assert page_count(settings) == 2


def test_same_batch_id_with_other_content_is_a_conflict(client: TestClient, scanner: Scanner, settings: CentralSettings) -> None:
    doc, pages = one_item_batch(scanner)
    upload(client, scanner, pages)
    assert submit(client, scanner.sign(doc)).status_code == 201
    changed = {**doc, "created_at": "2026-03-02T12:00:01+08:00"}
    resp = submit(client, scanner.sign(changed))
    assert resp.status_code == 409 and resp.json()["error"] == "MANIFEST_CONFLICT"
    assert format_id(doc["batch_id"]) in resp.json()["message"]  # one printed spelling
    assert page_count(settings) == 2


def test_reused_sequence_number_is_refused(client: TestClient, scanner: Scanner) -> None:
    doc1, pages1 = one_item_batch(scanner, seq=1)
    doc2, pages2 = one_item_batch(scanner, seq=1)
    upload(client, scanner, pages1 + pages2)
    assert submit(client, scanner.sign(doc1)).status_code == 201
    resp = submit(client, scanner.sign(doc2))
    assert resp.status_code == 409 and resp.json()["error"] == "MANIFEST_SEQ_REUSED"


def test_page_resent_in_a_later_batch_is_not_duplicated(client: TestClient, scanner: Scanner, settings: CentralSettings) -> None:
    doc, pages = one_item_batch(scanner, declared=3, received=2)
    upload(client, scanner, pages)
    assert submit(client, scanner.sign(doc)).status_code == 201
    item = doc["items"][0]
    third = scanner.page(item, 3)
    upload(client, scanner, [third])
    # the appliance re-sends pages 1-2 (e.g. a rebuilt batch) together with the new page 3
    later = scanner.manifest(2, doc["intakes"], doc["items"], [*pages, third])
    resp = submit(client, scanner.sign(later))
    assert resp.status_code == 201
    assert page_count(settings) == 3
    line = report_json(client)["intakes"][0]["items"][0]
    assert (line["received_pages"], line["missing"]) == (3, 0)


def test_another_appliance_cannot_overwrite_a_foreign_record(
    tmp_path: Any, client: TestClient, scanner: Scanner, settings: CentralSettings, central_identity: dict[str, Any]
) -> None:
    doc, pages = one_item_batch(scanner)
    upload(client, scanner, pages)
    assert submit(client, scanner.sign(doc)).status_code == 201
    other = make_scanner(tmp_path, central_identity, name="二号扫描点")
    central = open_central(settings)
    try:
        enroll(central.repo, read_identity(other.identity_path))
    finally:
        central.close()
    hijack = other.manifest(1, [{**doc["intakes"][0], "submitter": "王五"}], [], [])
    resp = submit(client, other.sign(hijack))
    assert resp.status_code == 409 and resp.json()["error"] == "MANIFEST_RECORD_FOREIGN"
    assert report_json(client)["intakes"][0]["submitter"] == "张三"


def test_schema_errors_are_explained(client: TestClient, scanner: Scanner) -> None:
    doc, pages = one_item_batch(scanner)
    upload(client, scanner, pages)
    no_items = {k: v for k, v in doc.items() if k != "items"}
    text_count = {**doc, "items": [{**doc["items"][0], "declared_pages": "3"}]}
    orphan = {**doc, "intakes": []}  # the item points at an intake nobody sent
    huge_seq = {**doc, "seq": 2**70}
    for bad in (no_items, text_count, orphan, huge_seq):
        resp = submit(client, scanner.sign(bad))
        assert resp.status_code == 400 and resp.json()["error"] == "MANIFEST_SCHEMA_INVALID", resp.text
    not_canonical = Signed(json.dumps(doc, indent=1).encode(), "")
    not_canonical = Signed(not_canonical.body, crypto.sign(scanner.signing, not_canonical.body))
    resp = submit(client, not_canonical)
    assert resp.status_code == 400 and "规范化" in resp.json()["message"]
    with_float = json.dumps({**doc, "seq": 1.0}, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    resp = submit(client, Signed(with_float, crypto.sign(scanner.signing, with_float)))
    assert resp.status_code == 400 and resp.json()["error"] == "MANIFEST_SCHEMA_INVALID"
    assert client.post("/api/manifests", content=b"{not json").status_code == 400


def test_concurrent_retries_store_one_batch(client: TestClient, scanner: Scanner, settings: CentralSettings) -> None:
    """Four simultaneous deliveries of one batch (a retry racing its original): one batch, one set of pages."""
    from concurrent.futures import ThreadPoolExecutor

    from juanzong.central.receive.services import ReceiveService

    doc, pages = one_item_batch(scanner)
    upload(client, scanner, pages)
    signed = scanner.sign(doc)
    central = open_central(settings)
    try:
        service = ReceiveService(central)
        with ThreadPoolExecutor(max_workers=4) as pool:
            receipts = list(pool.map(lambda _: service.receive_manifest(signed), range(4)))
        assert sum(r.created for r in receipts) == 1
        assert len({r.signed.body for r in receipts}) == 1
        assert central.repo.page_count() == 2
    finally:
        central.close()


def test_manifest_over_the_size_cap_is_413(settings: CentralSettings, scanner: Scanner) -> None:
    import dataclasses

    doc, _ = one_item_batch(scanner)
    signed = scanner.sign(doc)
    with TestClient(create_app(dataclasses.replace(settings, max_manifest_bytes=len(signed.body) // 2))) as client:
        resp = submit(client, signed)
    assert resp.status_code == 413 and resp.json()["error"] == "REQUEST_TOO_LARGE"


def test_a_mixed_suite_batch_is_taken_and_an_sm_blob_whose_sm3_or_header_lies_is_refused(
    client: TestClient, scanner: Scanner, settings: CentralSettings
) -> None:
    intake = scanner.intake()
    item = scanner.item(intake, 3)
    pages = [scanner.page(item, 1), scanner.page(item, 2, suite="sm"), scanner.page(item, 3, suite="sm")]
    upload(client, scanner, pages)
    pages[1].record["blob"]["sm3"] = "0" * 64  # a stated SM3 that is not the blob's
    resp = submit(client, scanner.sign(scanner.manifest(1, [intake], [item], pages)))
    assert resp.status_code == 422 and resp.json()["error"] == "BLOB_SUITE_MISMATCH"
    # an aes blob relabelled as sm (with the SM3 of its bytes): the header says otherwise
    aes = pages[0].record["blob"]
    aes |= {"suite": "sm4gcm-sm3-hpke-x25519-ed25519", "sm3": crypto_sm3(pages[0].sealed.data)}
    pages[1].record["blob"]["sm3"] = pages[1].sealed.sm3
    resp = submit(client, scanner.sign(scanner.manifest(1, [intake], [item], pages)))
    assert resp.status_code == 422 and resp.json()["error"] == "BLOB_SUITE_MISMATCH"
    assert page_count(settings) == 0
    for key in ("suite", "sm3"):
        del aes[key]
    resp = submit(client, scanner.sign(scanner.manifest(1, [intake], [item], pages)))
    assert resp.status_code == 201, resp.text
    assert page_count(settings) == 3


def crypto_sm3(data: bytes) -> str:
    from juanzong.shared.suites import sm3_hex

    return sm3_hex(data)


def test_a_revoked_appliance_manifest_and_blobs_are_refused_and_audited(
    client: TestClient, scanner: Scanner, settings: CentralSettings
) -> None:
    from juanzong.central import audit

    doc, pages = one_item_batch(scanner)
    central = open_central(settings)
    try:
        central.repo.revoke(scanner.appliance_id, "设备丢失", "2026-03-02T00:00:00+00:00")
    finally:
        central.close()
    resp = client.put(
        f"/api/blobs/{pages[0].sealed.sha256}", content=pages[0].sealed.data, headers={"X-Appliance-Id": scanner.appliance_id}
    )
    assert resp.status_code == 403 and resp.json()["error"] == "APPLIANCE_REVOKED"
    resp = submit(client, scanner.sign(doc))
    assert resp.status_code == 403 and resp.json()["error"] == "APPLIANCE_REVOKED"
    assert page_count(settings) == 0
    central = open_central(settings)
    try:
        codes = [(r.action, r.outcome, r.detail.get("code")) for r, _ in audit.records(central.repo.engine)]
        assert ("blob", "refused", "APPLIANCE_REVOKED") in codes and ("sync", "refused", "APPLIANCE_REVOKED") in codes
    finally:
        central.close()
