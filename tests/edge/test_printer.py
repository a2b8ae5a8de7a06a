"""Receipt printer: real ESC/POS bytes, decoded back; file and network transports; probe."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import zxingcpp
from PIL import Image, ImageChops

from juanzong.edge.devices import printer as prn
from juanzong.edge.devices.printer import Receipt, ReceiptLine, probe, render_receipt, send
from juanzong.edge.devices.profiles import PrinterProfile, get_printer, load_profiles
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, format_id, make_payload, new_id

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "firmware_profiles"
CASE = "（2026）京0102民初1234号"


def receipt(n_items: int = 2, **kw: object) -> Receipt:
    items = (ReceiptLine("起诉状", 5), ReceiptLine("证据材料（银行流水）", 12, copies=2, original=False))
    items += tuple(ReceiptLine(f"补充证据{i}", 3) for i in range(n_items - 2))
    fields = dict(
        intake_id=new_id(Kind.INTAKE),
        case_number=CASE,
        submitter="张三",
        received_at=datetime(2026, 3, 2, 10, 30, 59),
        deadline=datetime(2026, 3, 2, 17, 0),
        items=items[:n_items],
        court="北京市东城区人民法院",
        clerk="李四",
    )
    return Receipt(**{**fields, **kw})  # type: ignore[arg-type]


def printer(name: str) -> PrinterProfile:
    return get_printer(name, SHIPPED)


def raster_blocks(data: bytes) -> list[Image.Image]:
    """Every `GS v 0` block, decoded into an image where ink is black."""
    blocks, i = [], 0
    while (i := data.find(b"\x1dv0", i)) >= 0:
        xbytes = int.from_bytes(data[i + 4 : i + 6], "little")
        height = int.from_bytes(data[i + 6 : i + 8], "little")
        bits = data[i + 8 : i + 8 + xbytes * height]
        assert len(bits) == xbytes * height, "raster block truncated"
        blocks.append(ImageChops.invert(Image.frombytes("1", (xbytes * 8, height), bits).convert("L")))
        i += 8 + len(bits)  # skip the raster data: it may contain anything
    return blocks


def ink(image: Image.Image) -> float:
    hist = image.convert("L").histogram()
    return hist[0] / sum(hist)


# --------------------------------------------------------------------------- raster receipts


@pytest.mark.parametrize("name", ["escpos-80mm", "escpos-58mm", "file-printer"])
def test_raster_receipt_is_real_escpos(name: str) -> None:
    p, r = printer(name), receipt()
    data = render_receipt(r, p)
    payload = make_payload(r.intake_id).encode()
    assert data.startswith(b"\x1b@")  # ESC @ initialise
    blocks = raster_blocks(data)
    assert blocks and all(b.width <= p.width_dots for b in blocks)
    assert all(0.01 < ink(b) < 0.5 for b in blocks), "raster is blank or solid"
    # the QR is raster (works without native QR support) and reads back from the bytes
    assert [r.text for r in zxingcpp.read_barcodes(blocks[-1], formats=zxingcpp.BarcodeFormat.QRCode)] == [payload.decode()]
    code128 = b"\x1dkI" + bytes([len(payload) + 2]) + b"{B" + payload
    assert code128 in data
    assert data.rstrip(b"\n").endswith(b"\x1dV\x00")  # cut


def test_raster_is_exactly_the_rendered_text(tmp_path: Path) -> None:
    p, r = printer("escpos-80mm"), receipt()
    decoded = raster_blocks(render_receipt(r, p))[:-1]  # the last block is the QR
    expected = prn.raster_text(prn.receipt_text(r), p.width_dots, p.font_px).convert("L")
    joined = Image.new("L", (p.width_dots, sum(b.height for b in decoded)))
    y = 0
    for block in decoded:
        joined.paste(block, (0, y))
        y += block.height
    assert joined.size == expected.size and joined.width == p.width_dots
    assert ImageChops.difference(joined, expected).getbbox() is None


def test_receipt_text_carries_what_the_submitter_needs() -> None:
    r = receipt(urgent=True)
    text = "\n".join(line.text for line in prn.receipt_text(r))
    for expected in (
        "诉讼材料收取回执",
        f"案号：{CASE}",
        f"收取编号：{format_id(r.intake_id)}",
        "提交人：张三",
        "收件时间：2026-03-02 10:30",
        "起诉状",
        "份数 2",
        "页数 12",
        "原件",
        "复印件",
        "合计页数：29",
        "办理时限：2026-03-02 17:00",
        "加急",
        "经办人：李四",
    ):
        assert expected in text, expected
    assert "10:30:59" not in text and "加急" not in "\n".join(t.text for t in prn.receipt_text(receipt()))


def test_aware_times_print_in_court_local_time() -> None:
    utc = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)
    r = receipt(received_at=utc, deadline=datetime(2026, 3, 2, 17, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    text = "\n".join(line.text for line in prn.receipt_text(r))
    assert "收件时间：2026-03-02 10:30" in text and "办理时限：2026-03-02 17:00" in text


def test_more_items_print_a_longer_receipt() -> None:
    p = printer("escpos-58mm")
    short = sum(b.height for b in raster_blocks(render_receipt(receipt(2), p)))
    long = sum(b.height for b in raster_blocks(render_receipt(receipt(12), p)))
    assert long > short + 10 * 30


def test_long_names_wrap_within_the_paper() -> None:
    p = printer("escpos-58mm")
    r = receipt(items=(ReceiptLine("关于被告人在案发前后多次向多名证人转账的银行流水及其说明材料" * 2, 40),))
    blocks = raster_blocks(render_receipt(r, p))
    assert all(b.width == p.width_dots for b in blocks)
    # the rightmost column stays clear: text was wrapped, not clipped at the edge
    assert all(b.crop((p.width_dots - 3, 0, p.width_dots, b.height)).getbbox() is None for b in (ImageChops.invert(b) for b in blocks))


@pytest.mark.parametrize("profile", [p for p in load_profiles(SHIPPED) if isinstance(p, PrinterProfile)], ids=lambda p: p.name)
def test_every_shipped_printer_profile_renders(profile: PrinterProfile) -> None:
    assert render_receipt(receipt(), profile).startswith(b"\x1b@")


def test_unknown_escpos_profile_is_profile_invalid() -> None:
    bad = dataclasses.replace(printer("file-printer"), escpos_profile="NO-SUCH-MODEL")
    with pytest.raises(AppError) as exc:
        render_receipt(receipt(), bad)
    assert exc.value.code is ErrorCode.PROFILE_INVALID and exc.value.params["field"] == "escpos_profile"


def test_missing_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JUANZONG_CJK_FONT", raising=False)
    with pytest.raises(AppError) as exc:
        prn.find_cjk_font([tmp_path / "wqy-microhei.ttc"])
    assert exc.value.code is ErrorCode.FONT_MISSING and str(tmp_path) in exc.value.message
    assert prn.find_cjk_font().is_file()


# --------------------------------------------------------------------------- GB18030 text mode


def test_gb18030_profile_sends_chinese_mode_and_gb18030_text() -> None:
    r = receipt()
    data = render_receipt(r, printer("xprinter-gb18030"))
    assert data.startswith(b"\x1b@\x1c&")  # ESC @, then FS & (enter Chinese mode)
    assert CASE.encode("gb18030") in data
    for line in prn.receipt_text(r):
        if line.text:
            assert line.text.encode("gb18030") in data, line.text
    text = data[: data.find(b"\x1dv0")]  # what precedes the raster QR
    assert b"?" not in text  # no MagicEncode substitution of （２０２６） and friends
    assert len(raster_blocks(data)) == 1  # everything fit the resident font: only the QR is raster


def test_gb18030_uses_fullwidth_yen_and_rasterises_what_the_font_lacks() -> None:
    rare = "𠮷"  # CJK Ext-B: a 4-byte GB18030 sequence no resident font has
    items = (ReceiptLine("诉讼费收据 ¥50", 1), ReceiptLine(f"{rare}某某的身份证复印件", 1, original=False))
    data = render_receipt(receipt(items=items), printer("xprinter-gb18030"))
    assert "￥".encode("gb18030") in data and b"\x81\x30\x84\x36" not in data
    assert rare.encode("gb18030") not in data
    blocks = raster_blocks(data)[:-1]  # the last one is the QR
    assert len(blocks) == 1 and ink(blocks[0]) > 0.01


# --------------------------------------------------------------------------- transports


def test_file_transport_appends_exactly_the_rendered_bytes(tmp_path: Path) -> None:
    p = printer("file-printer")
    first, second = render_receipt(receipt(), p), render_receipt(receipt(3), p)
    send(first, p, tmp_path)
    assert p.file_output(tmp_path).read_bytes() == first
    send(second, p, tmp_path)
    assert p.file_output(tmp_path).read_bytes() == first + second


def test_file_transport_failure_is_printer_offline(tmp_path: Path) -> None:
    (tmp_path / "printer").write_text("a file where the folder should be")
    with pytest.raises(AppError) as exc:
        send(b"\x1b@", printer("file-printer"), tmp_path)
    assert exc.value.code is ErrorCode.PRINTER_OFFLINE


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def network_printer(port: int) -> PrinterProfile:
    return dataclasses.replace(printer("xprinter-gb18030"), host="127.0.0.1", port=port, timeout_seconds=1.0)


def test_unreachable_network_printer_is_offline() -> None:
    p = network_printer(closed_port())
    with pytest.raises(AppError) as exc:
        send(render_receipt(receipt(), p), p, Path("/nonexistent"))
    assert exc.value.code is ErrorCode.PRINTER_OFFLINE and exc.value.params["printer"] == p.name
    assert "排队" in exc.value.message


def test_unreachable_network_printer_keeps_the_job_queued(settings, db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The behaviour, not a stopwatch: the attempt ends offline and the receipt waits in the queue."""
    from edge_kit import register

    from juanzong.edge import printing
    from juanzong.edge.repo import print_jobs

    profiles = tmp_path / "profiles"
    shutil.copytree(SHIPPED, profiles)
    lab = (SHIPPED / "printers" / "xprinter-gb18030.toml").read_text("utf-8")
    lab = lab.replace('name = "xprinter-gb18030"', 'name = "lab-network"').replace('"192.168.10.50"', '"127.0.0.1"')
    lab = lab.replace("port = 9100", f"port = {closed_port()}").replace("timeout_seconds = 3.0", "timeout_seconds = 1.0")
    (profiles / "printers" / "lab-network.toml").write_text(lab, "utf-8")
    monkeypatch.setenv("JUANZONG_PROFILES", str(profiles))
    settings = dataclasses.replace(settings, printer_profile="lab-network")
    intake_id = register(db, settings).intake_id
    job_id = printing.queue_receipt(db, settings, intake_id)
    outcome = printing.flush(db, settings)
    assert [(o["job_id"], o["printed"], o["error"]) for o in outcome] == [(job_id, False, "PRINTER_OFFLINE")]
    [job] = print_jobs.queued(db)
    assert (job.id, job.printer, job.state, job.attempts) == (job_id, "lab-network", "queued", 1)
    assert job.last_error and "排队" in job.last_error


@pytest.fixture
def raw_tcp_printer() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback stand-in for a JetDirect port 9100 printer: records what it receives."""
    received: list[bytes] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            chunks = []
            while chunk := self.request.recv(65536):
                chunks.append(chunk)
            received.append(b"".join(chunks))

    server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], received
    server.shutdown()
    server.server_close()


def test_network_printer_receives_exactly_the_bytes(raw_tcp_printer: tuple[int, list[bytes]]) -> None:
    port, received = raw_tcp_printer
    p = network_printer(port)
    data = render_receipt(receipt(), p)
    send(data, p, Path("/nonexistent"))
    deadline = time.monotonic() + 3
    while not received and time.monotonic() < deadline:
        time.sleep(0.02)
    assert received == [data]


def test_usb_printer_without_device_is_offline() -> None:
    with pytest.raises(AppError) as exc:
        send(b"\x1b@", printer("escpos-80mm"), Path("/nonexistent"))
    assert exc.value.code is ErrorCode.PRINTER_OFFLINE


# --------------------------------------------------------------------------- probe


def test_probe_reports_reachability(tmp_path: Path, raw_tcp_printer: tuple[int, list[bytes]]) -> None:
    up = probe(printer("file-printer"), tmp_path)
    assert up == {"name": "file-printer", "transport": "file", "ok": True, "detail": up["detail"]}
    assert not (tmp_path / "printer").exists()  # probing prints nothing, creates nothing
    assert probe(network_printer(raw_tcp_printer[0]), tmp_path)["ok"] is True
    down = probe(network_printer(closed_port()), tmp_path)
    assert down["ok"] is False and "无法连接" in down["detail"]
    assert probe(printer("escpos-80mm"), tmp_path)["ok"] is False  # no such USB device here
    serial = dataclasses.replace(printer("escpos-80mm"), transport="serial", serial_device=str(tmp_path / "ttyX"))
    assert probe(serial, tmp_path)["ok"] is False


# --------------------------------------------------------------------------- python-escpos side effects


def test_import_and_render_leave_no_temp_dir_no_stdout_no_root_handler(tmp_path: Path) -> None:
    tmp, cache = tmp_path / "tmp", tmp_path / "cache"
    tmp.mkdir()
    code = (
        "import logging\n"
        "from datetime import datetime\n"
        "from juanzong.edge.devices.printer import Receipt, ReceiptLine, render_receipt\n"
        "from juanzong.edge.devices.profiles import get_printer\n"
        "from juanzong.shared.ids import new_id, Kind\n"
        "r = Receipt(new_id(Kind.INTAKE), '（2026）京0102民初1号', '张三', datetime.now(), datetime.now(),"
        " (ReceiptLine('起诉状', 3),))\n"
        "for name in ('escpos-58mm', 'xprinter-gb18030'):\n"
        "    render_receipt(r, get_printer(name))\n"
        "assert not logging.getLogger().handlers, logging.getLogger().handlers\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    env.update(TMPDIR=str(tmp), XDG_CACHE_HOME=str(cache))
    run = subprocess.run([sys.executable, "-P", "-c", code], cwd=REPO, env=env, capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr.decode()
    assert run.stdout == b""
    assert list(tmp.iterdir()) == []
    assert list((cache / "juanzong" / "escpos").glob("*.capabilities.pickle"))
