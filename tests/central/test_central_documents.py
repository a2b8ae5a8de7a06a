"""Documents and filing notices at central: received with their batch, the pages each PDF
holds recorded, read back decrypted and audited; notices listed and served to the case
system only with its account's token."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pikepdf
import pytest
from central_kit import CASE_NUMBER, Scanner, run_cli, submit, upload
from litestar.testing import TestClient
from sqlalchemy import select

from juanzong.central import db
from juanzong.central.audit import records
from juanzong.central.home import open_central
from juanzong.central.office.app import create_office_app
from juanzong.central.office.repository import OfficeRepository
from juanzong.central.office.users import add_user
from juanzong.edge.documents.assemble import CatalogPlace, DocumentMeta, SourcePage, assemble
from juanzong.shared import crypto
from juanzong.shared.ids import Kind, new_id


def document_entry(scanner: Scanner, item: dict, pages: list) -> tuple[dict, bytes, Any]:
    meta = DocumentMeta(item["item_id"], CASE_NUMBER, item["name"], CatalogPlace("main", "起诉状", 3, 1))
    built = assemble([SourcePage(p.record["page_id"], n, p.plain) for n, p in enumerate(pages, start=1)], meta)
    doc_id = new_id(Kind.DOCUMENT)
    sealed = crypto.seal_blob(
        built.pdf,
        appliance_id=scanner.appliance_id,
        blob_id=doc_id,
        kind="document",
        kek=scanner.kek,
        central_public=crypto.load_hpke_public(crypto.unb64(scanner.central_identity["hpke_public"])),
    )
    entry = {
        "document_id": doc_id,
        "item_id": item["item_id"],
        "version": 1,
        "searchable": False,
        "page_ids": [p.record["page_id"] for p in pages],
        "file_name": meta.file_name,
        "place": meta.place.to_dict(),
        "stamped_over_content": [],
        "created_at": "2026-03-02T12:00:00+00:00",
        "blob": {"sha256": sealed.sha256, "size": sealed.size, "kind": "document", "sealed_key": crypto.b64(sealed.sealed_central)},
    }
    return entry, built.pdf, sealed


def notice_entry(item: dict, entry: dict) -> dict:
    return {
        "notice_id": new_id(Kind.NOTICE),
        "item_id": item["item_id"],
        "document_id": entry["document_id"],
        "kind": "filed",
        "case_number": CASE_NUMBER,
        "item_name": item["name"],
        "place": entry["place"],
        "pages": len(entry["page_ids"]),
        "created_at": "2026-03-02T12:00:00+00:00",
    }


@pytest.fixture
def received(client: TestClient, scanner: Scanner) -> dict:
    intake = scanner.intake()
    item = scanner.item(intake, 2)
    pages = [scanner.page(item, 1), scanner.page(item, 2)]
    entry, pdf, sealed = document_entry(scanner, item, pages)
    notice = notice_entry(item, entry)
    manifest = scanner.manifest(1, [intake], [item], pages)
    manifest.update(documents=[entry], notices=[notice])
    upload(client, scanner, pages)
    client.put(f"/api/blobs/{sealed.sha256}", content=sealed.data, headers={"X-Appliance-Id": scanner.appliance_id})
    resp = submit(client, scanner.sign(manifest))
    assert resp.status_code in (200, 201), resp.text
    return {"item": item, "pages": pages, "entry": entry, "pdf": pdf, "notice": notice}


def test_central_records_the_pages_and_returns_the_pdf_decrypted_and_audited(received, settings, tmp_path, capsys):
    central = open_central(settings)
    try:
        with central.repo.engine.connect() as conn:
            held = conn.execute(select(db.document_pages.c.page_id).order_by(db.document_pages.c.position)).scalars().all()
        assert held == received["entry"]["page_ids"]
    finally:
        central.close()
    out = tmp_path / "doc.pdf"
    rc, _ = run_cli(["document", "--home", str(settings.home), received["item"]["item_id"], "--out", str(out)], capsys)
    assert rc == 0 and out.read_bytes() == received["pdf"]
    assert len(pikepdf.open(io.BytesIO(out.read_bytes())).pages) == 2
    central = open_central(settings)
    try:
        exports = [r for r, _ in records(central.repo.engine) if r.action == "export"]
    finally:
        central.close()
    assert exports and exports[-1].target == received["entry"]["document_id"] and exports[-1].detail["key_use"] == "hpke"


def test_a_document_naming_a_page_central_never_received_is_refused(client, scanner):
    intake = scanner.intake()
    item = scanner.item(intake, 1)
    page = scanner.page(item, 1)
    entry, _, sealed = document_entry(scanner, item, [page])
    manifest = scanner.manifest(1, [intake], [item], [])
    manifest["documents"] = [entry]
    client.put(f"/api/blobs/{sealed.sha256}", content=sealed.data, headers={"X-Appliance-Id": scanner.appliance_id})
    resp = submit(client, scanner.sign(manifest))
    assert resp.status_code == 400 and resp.json()["error"] == "MANIFEST_SCHEMA_INVALID"


def test_notices_are_listed_and_served_only_to_the_case_system_with_its_token(received, settings, capsys):
    rc, out = run_cli(["notices", "--home", str(settings.home), "--json"], capsys)
    listed = json.loads(out)
    assert rc == 0 and [n["notice_id"] for n in listed] == [received["notice"]["notice_id"]]
    assert listed[0]["case_number"] == CASE_NUMBER and listed[0]["pages"] == 2
    rc, out = run_cli(["notices", "--home", str(settings.home), "--since", "2999-01-01T00:00:00+08:00", "--json"], capsys)
    assert json.loads(out) == []

    central = open_central(settings)
    try:
        repo = OfficeRepository(central.repo.engine)
        token = add_user(
            repo, central.repo.engine, "cms", "案件系统", "case_system", None, actor="test", now=datetime(2026, 3, 1, tzinfo=UTC)
        )
        add_user(
            repo, central.repo.engine, "wang", "王档案", "clerk", "archive-2026-pass", actor="test", now=datetime(2026, 3, 1, tzinfo=UTC)
        )
    finally:
        central.close()
    with TestClient(create_office_app(settings, secure=False)) as office:
        assert office.get("/api/notices").status_code == 401
        assert office.get("/api/notices", headers={"Authorization": "Bearer guessed"}).json()["error"] == "API_TOKEN_INVALID"
        resp = office.get("/api/notices", params={"since": "2000-01-01T00:00:00Z"}, headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200 and resp.json()["count"] == 1
        assert resp.json()["notices"][0]["item_id"] == received["item"]["item_id"]
        # the same token fetches the item's PDF: the appliance's stamped document, not a rebuild
        pdf = office.get(f"/api/documents/{received['item']['item_id']}", headers={"Authorization": f"Bearer {token}"})
        assert pdf.status_code == 200 and pdf.content == received["pdf"]
        # the office's document viewer streams the same stored document
        office.get("/login")
        office.post("/login", data={"user_id": "wang", "password": "archive-2026-pass", "_csrf_token": office.cookies.get("jz_csrf")})
        viewed = office.get(f"/items/{received['item']['item_id']}/document")
        assert viewed.status_code == 200 and viewed.content == received["pdf"]
        case = office.get(f"/cases/{CASE_NUMBER}").text  # the item's filing notice and QC state on the case page
        assert "入卷提醒" in case and "收到（2 页）" in case and "未批准" in case
    rc, _ = run_cli(["user", "disable", "--home", str(settings.home), "--id", "cms"], capsys)
    with TestClient(create_office_app(settings, secure=False)) as office:
        assert office.get("/api/notices", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    central = open_central(settings)
    try:
        reads = [r for r, _ in records(central.repo.engine) if r.action == "read_notices"]
    finally:
        central.close()
    assert "cms" in {r.actor for r in reads}
