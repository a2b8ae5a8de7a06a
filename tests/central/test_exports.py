"""Exports read back by their real readers: the dossier tree and its index, the T-SQL index
(sqlglot's T-SQL parser), the Excel catalogue (openpyxl), per-item ZIPs (zipfile and `unzip -t`)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from central_kit import Scanner, run_cli, submit, upload
from litestar.testing import TestClient
from PIL import Image

from juanzong.shared import crypto

OTHER_CASE = "（2025）京0105民初77号"


def feed(client: TestClient, scanner: Scanner) -> dict[str, Any]:
    """Two intakes of one case (正卷 and 副卷 items, catalog order differs from arrival) and a second case."""
    first = scanner.intake(submitter="北京某某律师事务所")
    evidence = scanner.item(first, 3, seq=1, name="证据材料")
    complaint = scanner.item(first, 2, seq=2, name="起诉状")
    later = {**scanner.intake(submitter="张三"), "received_at": "2026-03-03T09:00:00+08:00"}
    notes = {**scanner.item(later, 1, seq=1, name="合议庭评议笔录、汇报笔录"), "volume": "internal"}
    other = {
        **scanner.intake(submitter="李四"),
        "case_number": OTHER_CASE,
        "case": {"year": 2025, "court": "京0105", "type_code": "民初", "number": 77},
    }
    other_item = scanner.item(other, 1, seq=1, name="起诉状")
    pages = (
        [scanner.page(evidence, n) for n in (1, 2, 3)]
        + [scanner.page(complaint, n) for n in (1, 2)]
        + [scanner.page(notes, 1), scanner.page(other_item, 1)]
    )
    doc = scanner.manifest(1, [first, later, other], [evidence, complaint, notes, other_item], pages)
    upload(client, scanner, pages)
    assert submit(client, scanner.sign(doc)).status_code == 201
    return {"pages": {p.record["page_id"]: p for p in pages}, "items": {i["item_id"]: i for i in (evidence, complaint, notes, other_item)}}


def test_dossier_tree_in_catalog_order_with_index(
    client: TestClient, scanner: Scanner, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fed = feed(client, scanner)
    out = tmp_path / "dossier"
    rc, text = run_cli(["export", "dossier", "--home", str(home), "--case", "(2024)京0102民初1234号", "--out", str(out), "--xml"], capsys)
    assert rc == 0 and "1 个案件、3 件材料、6 页" in text
    case_dir = out / "（2024）京0102民初1234号"
    index = json.loads((case_dir / "index.json").read_text("utf-8"))
    files = [i["file"] for v in index["volumes"] for i in v["items"]]
    assert sorted(files) == sorted(p.relative_to(case_dir).as_posix() for p in case_dir.rglob("*.pdf"))
    # 起诉状 precedes 证据材料 in the 民初 catalog although it arrived second; 副卷 apart
    assert files[0].startswith("正卷/") and "起诉状" in files[0] and "证据材料" in files[1] and files[2].startswith("副卷/")
    main, internal = index["volumes"]
    assert [i["name"] for i in main["items"]] == ["起诉状", "证据材料"]
    assert [(i["start_page"], i["end_page"]) for i in main["items"]] == [(1, 2), (3, 5)]
    assert internal["items"][0]["start_page"] == 1
    for volume in index["volumes"]:
        for item in volume["items"]:
            pdf = (case_dir / item["file"]).read_bytes()
            assert crypto.sha256_hex(pdf) == item["file_sha256"] and pdf.startswith(b"%PDF")
            for page in item["page_list"]:
                assert fed["pages"][page["page_id"]].record["source_sha256"] == page["sha256"]
    assert b"<dossier" in (case_dir / "index.xml").read_bytes()


def test_dossier_pdf_embeds_the_masters_untouched(
    client: TestClient, scanner: Scanner, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pikepdf

    fed = feed(client, scanner)
    out = tmp_path / "ascii"
    assert run_cli(["export", "dossier", "--home", str(home), "--out", str(out), "--ascii"], capsys)[0] == 0
    names = [p.relative_to(out).as_posix() for p in out.rglob("*")]
    assert all(n.isascii() for n in names) and len([n for n in names if n.endswith(".pdf")]) == 4
    masters = {p.plain for p in fed["pages"].values()}
    for pdf_path in out.rglob("*.pdf"):
        with pikepdf.open(pdf_path) as pdf:
            for page in pdf.pages:
                (image,) = page.images.values()
                assert image.read_raw_bytes() in masters


def test_sql_index_parses_as_tsql_and_attaches_every_page(
    client: TestClient, scanner: Scanner, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fed = feed(client, scanner)
    out = tmp_path / "sql"
    rc, text = run_cli(["export", "sql", "--home", str(home), "--out", str(out), "--bcp"], capsys)
    assert rc == 0 and "页面 7 页" in text
    script = (out / "index.sql").read_text("utf-8")
    statements = sqlglot.parse(script, read="tsql")
    inserts: dict[str, list[list[Any]]] = {}
    for st in statements:
        if isinstance(st, sqlglot.exp.Insert):
            table = st.this.this.name if isinstance(st.this, sqlglot.exp.Schema) else st.this.name
            rows = [[_value(v) for v in t.expressions] for t in st.expression.expressions]
            inserts.setdefault(table, []).extend(rows)
    creates = {st.this.this.name for st in statements if isinstance(st, sqlglot.exp.Create)}
    assert creates == {"jz_schema", "jz_cases", "jz_volumes", "jz_items", "jz_pages", "jz_attachments"}
    page_ids = [r[0] for r in inserts["jz_pages"]]
    assert sorted(page_ids) == sorted(fed["pages"]) and len(set(page_ids)) == len(page_ids)
    assert sorted(r[0] for r in inserts["jz_items"]) == sorted(fed["items"])
    for page_id, _item, _no, _vol_no, _side, ref, sha in inserts["jz_pages"]:
        assert crypto.sha256_hex((out / ref).read_bytes()) == sha == fed["pages"][page_id].record["source_sha256"]
    for _item, ref, sha, _pages in inserts["jz_attachments"]:
        assert crypto.sha256_hex((out / ref).read_bytes()) == sha
    assert "N'（2024）京0102民初1234号'" in script and "BEGIN TRANSACTION;" in script
    tsv = (out / "bcp" / "jz_pages.tsv").read_text("utf-8").splitlines()
    assert len(tsv) == 7 and (out / "bcp" / "jz_pages.fmt").read_text().splitlines()[1] == "7"


def _value(node: sqlglot.exp.Expression) -> Any:
    if isinstance(node, sqlglot.exp.National):  # N'…': text as SQL Server stores it in NVARCHAR
        return node.this
    if isinstance(node, sqlglot.exp.Literal):
        return node.to_py()
    assert isinstance(node, sqlglot.exp.Null), node
    return None


def test_sql_index_utf16_with_bom(
    client: TestClient, scanner: Scanner, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed(client, scanner)
    out = tmp_path / "sql16"
    assert run_cli(["export", "sql", "--home", str(home), "--out", str(out), "--utf16"], capsys)[0] == 0
    raw = (out / "index.sql").read_bytes()
    assert raw.startswith(b"\xff\xfe")
    assert sqlglot.parse(raw.decode("utf-16"), read="tsql")


def test_excel_catalogue_reads_back_with_text_cells(
    client: TestClient, scanner: Scanner, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from openpyxl import load_workbook

    feed(client, scanner)
    out = tmp_path / "目录.xlsx"
    assert run_cli(["export", "excel", "--home", str(home), "--out", str(out)], capsys)[0] == 0
    ws = load_workbook(out).active
    header = [c.value for c in ws[1]]
    assert header[:11] == ["序号", "题名", "责任者", "日期", "页数", "页号", "档号", "案号", "正副卷", "目录", "备注"]
    rows = [dict(zip(header, (c.value for c in row))) for row in ws.iter_rows(min_row=2)]
    assert len(rows) == 4
    complaint = next(r for r in rows if r["题名"] == "起诉状" and r["案号"] == "（2024）京0102民初1234号")
    assert complaint["页号"] == "1-2" and complaint["正副卷"] == "正卷" and isinstance(complaint["案号"], str)
    assert ws.cell(row=2, column=header.index("案号") + 1).number_format == "@"


def test_per_item_zips_have_ascii_members_and_pass_unzip(
    client: TestClient, scanner: Scanner, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fed = feed(client, scanner)
    out = tmp_path / "zips"
    assert run_cli(["export", "zip", "--home", str(home), "--out", str(out)], capsys)[0] == 0
    zips = sorted(out.glob("*.zip"))
    assert sorted(z.stem for z in zips) == sorted(fed["items"])
    for path in zips:
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None and all(n.isascii() for n in zf.namelist())
            manifest = json.loads(zf.read("manifest.json"))
            assert manifest["item_id"] == path.stem and manifest["name"] in {"起诉状", "证据材料", "合议庭评议笔录、汇报笔录"}
            for entry in manifest["page_list"]:
                assert zf.read(entry["member"]) == fed["pages"][entry["page_id"]].plain
                Image.open(io.BytesIO(zf.read(entry["member"]))).verify()
        if shutil.which("unzip"):
            assert subprocess.run(["unzip", "-t", str(path)], capture_output=True).returncode == 0


def test_exports_refuse_a_used_destination_and_an_unknown_case(
    client: TestClient, scanner: Scanner, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from juanzong.shared.errors import AppError, ErrorCode

    feed(client, scanner)
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("earlier work")
    with pytest.raises(AppError) as err:
        run_cli(["export", "zip", "--home", str(home), "--out", str(used)], capsys)
    assert err.value.code is ErrorCode.EXPORT_TARGET_INVALID and (used / "keep.txt").read_text() == "earlier work"
    with pytest.raises(AppError) as err:
        run_cli(["export", "dossier", "--home", str(home), "--case", "（2024）京0102民初9999号", "--out", str(tmp_path / "x")], capsys)
    assert err.value.code is ErrorCode.CASE_NOT_FOUND


def test_every_export_is_audited_with_its_destination(
    client: TestClient, scanner: Scanner, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from juanzong.central import audit
    from juanzong.central.config import load_settings
    from juanzong.central.home import open_central

    feed(client, scanner)
    out = tmp_path / "z"
    run_cli(["export", "zip", "--home", str(home), "--out", str(out), "--operator", "档案员王"], capsys)
    central = open_central(load_settings(home))
    try:
        rows = [rec for rec, _ in audit.records(central.repo.engine) if rec.action == "export"]
    finally:
        central.close()
    assert {r.actor for r in rows} == {"档案员王"}
    assert any(r.target == str(out) and r.detail["format"] == "zip" for r in rows)
    assert len([r for r in rows if r.detail.get("purpose") == "zip"]) == 4  # each item read, on record
    (done,) = [r for r in rows if r.detail.get("format") == "zip"]
    assert done.detail["summary"]["files_sha256"] == _digest(out)  # the hashes, recomputable from the folder
    tree = tmp_path / "tree"
    run_cli(["export", "dossier", "--home", str(home), "--out", str(tree), "--operator", "档案员王"], capsys)
    central = open_central(load_settings(home))
    try:
        (done,) = [r for r, _ in audit.records(central.repo.engine) if r.detail.get("format") == "dossier"]
    finally:
        central.close()
    assert done.target == str(tree) and done.detail["summary"]["files_sha256"] == _digest(tree)


def _digest(folder: Path) -> str:
    """`sha256sum`-style lines over every file under the folder (sorted by path), hashed."""
    files = sorted((p.relative_to(folder).as_posix(), crypto.sha256_hex(p.read_bytes())) for p in folder.rglob("*") if p.is_file())
    return crypto.sha256_hex("".join(f"{sha}  {path}\n" for path, sha in files).encode("utf-8"))


def test_dossier_uses_the_appliances_searchable_document_and_notes_the_items_without_one(
    client: TestClient, scanner: Scanner, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The 起诉状 arrives with its stamped, searchable PDF (built by the appliance's own assembler with an
    OCR text layer); the dossier carries those bytes. The 证据材料 has no document: assembled, with a note."""
    from juanzong.edge.documents.assemble import CatalogPlace, DocumentMeta, SourcePage, assemble
    from juanzong.edge.documents.textlayer import PageText, TextLine
    from juanzong.shared.ids import Kind, new_id

    intake = scanner.intake(submitter="北京某某律师事务所")
    complaint = scanner.item(intake, 2, seq=1, name="起诉状")
    evidence = scanner.item(intake, 1, seq=2, name="证据材料")
    pages = [scanner.page(complaint, 1), scanner.page(complaint, 2), scanner.page(evidence, 1)]
    meta = DocumentMeta(complaint["item_id"], intake["case_number"], "起诉状", CatalogPlace("main", "起诉状", 3, 1))
    texts = {p.record["page_id"]: PageText(64, 48, (TextLine("民事起诉状原告张三", 4, 10, 60, 20),)) for p in pages[:2]}
    built = assemble([SourcePage(p.record["page_id"], n, p.plain) for n, p in enumerate(pages[:2], start=1)], meta, texts)
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
        "item_id": complaint["item_id"],
        "version": 2,
        "searchable": True,
        "page_ids": [p.record["page_id"] for p in pages[:2]],
        "file_name": meta.file_name,
        "place": meta.place.to_dict(),
        "stamped_over_content": [],
        "created_at": "2026-03-02T12:00:00+00:00",
        "blob": {"sha256": sealed.sha256, "size": sealed.size, "kind": "document", "sealed_key": crypto.b64(sealed.sealed_central)},
    }
    manifest = scanner.manifest(1, [intake], [complaint, evidence], pages) | {"documents": [entry]}
    upload(client, scanner, pages)
    client.put(f"/api/blobs/{sealed.sha256}", content=sealed.data, headers={"X-Appliance-Id": scanner.appliance_id})
    assert submit(client, scanner.sign(manifest)).status_code == 201

    out = tmp_path / "dossier"
    rc, text = run_cli(["export", "dossier", "--home", str(home), "--out", str(out)], capsys)
    assert rc == 0 and "1 件用扫描点生成的可检索文档" in text and f"材料 {evidence['item_id']}：中心未存有扫描点生成的文档" in text
    case_dir = out / "（2024）京0102民初1234号"
    index = json.loads((case_dir / "index.json").read_text("utf-8"))
    entries = {i["item_id"]: i for v in index["volumes"] for i in v["items"]}
    stored, assembled = entries[complaint["item_id"]], entries[evidence["item_id"]]
    exported = (case_dir / stored["file"]).read_bytes()
    assert exported == built.pdf  # the appliance's document, decrypted, byte for byte
    assert stored["pdf_source"] == "appliance_document" and stored["document_id"] == doc_id and stored["searchable"]
    found = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(case_dir / stored["file"]), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "民事起诉状原告张三" in found
    assert assembled["pdf_source"] == "assembled_from_masters" and "无文字层" in assembled["note"]
    assert (case_dir / assembled["file"]).read_bytes().startswith(b"%PDF")
    zips = tmp_path / "zips"
    assert run_cli(["export", "zip", "--home", str(home), "--out", str(zips)], capsys)[0] == 0
    with zipfile.ZipFile(zips / f"{complaint['item_id']}.zip") as zf:
        assert zf.read("document.pdf") == built.pdf


def _set(home: Path, name: str, value: str) -> None:
    import re

    config = home / "config.toml"
    text, n = re.subn(rf"(?m)^{name} = .*$", f"{name} = {value}", config.read_text("utf-8"))
    config.write_text(text if n else text + f"\n{name} = {value}\n", "utf-8")


def test_sql_load_needs_a_configured_server(
    client: TestClient, scanner: Scanner, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from juanzong.shared.errors import AppError, ErrorCode

    feed(client, scanner)
    with pytest.raises(AppError) as err:
        run_cli(["export", "sql", "--home", str(home), "--out", str(tmp_path / "sql"), "--load"], capsys)
    assert err.value.code is ErrorCode.SQLSERVER_NOT_CONFIGURED and "未设置 SQL Server" in err.value.message
    assert not (tmp_path / "sql").exists()  # refused before anything was written


def test_sql_load_names_an_unreachable_server_and_keeps_the_script(
    client: TestClient, scanner: Scanner, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No SQL Server runs on this machine, so only the failure paths are real here: a loopback port
    nothing listens on, and a loopback listener that hangs up without speaking TDS."""
    import socket
    import threading

    from juanzong.central import audit
    from juanzong.central.config import load_settings
    from juanzong.central.home import open_central
    from juanzong.shared.errors import AppError, ErrorCode

    feed(client, scanner)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens on it now
    (tmp_path / "sa.pw").write_text("not-a-real-password\n")
    for name, value in (
        ("sqlserver_host", '"127.0.0.1"'),
        ("sqlserver_port", str(port)),
        ("sqlserver_database", '"jz_index"'),
        ("sqlserver_user", '"jz_loader"'),
        ("sqlserver_password_file", f'"{tmp_path / "sa.pw"}"'),
        ("sqlserver_timeout_seconds", "1"),
    ):
        _set(home, name, value)
    with pytest.raises(AppError) as err:
        run_cli(["export", "sql", "--home", str(home), "--out", str(tmp_path / "sql"), "--load"], capsys)
    assert err.value.code is ErrorCode.SQLSERVER_UNREACHABLE
    assert f"127.0.0.1:{port}/jz_index" in err.value.message and "没有 SQL Server 在监听" in err.value.message
    assert sqlglot.parse((tmp_path / "sql" / "index.sql").read_text("utf-8"), read="tsql")  # the script is kept

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def hang_up() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        _set(home, "sqlserver_port", str(listener.getsockname()[1]))
        with pytest.raises(AppError) as err:
            run_cli(["export", "sql", "--home", str(home), "--out", str(tmp_path / "sql2"), "--load"], capsys)
    finally:
        listener.close()
    assert err.value.code is ErrorCode.SQLSERVER_UNREACHABLE and "无法连接 SQL Server" in err.value.message
    central = open_central(load_settings(home))
    try:
        loads = [r for r, _ in audit.records(central.repo.engine) if r.detail.get("format") == "sql-load"]
    finally:
        central.close()
    assert [(r.outcome, r.detail["code"]) for r in loads] == [("failed", "SQLSERVER_UNREACHABLE")] * 2
