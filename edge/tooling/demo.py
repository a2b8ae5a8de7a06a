"""`juanzong demo`: a page's whole journey, on this machine, with real parts.

Central and the appliance run as real processes on loopback (`central serve`,
`edge run`) and talk mutual TLS through the court CA central made at init; an intake with a few items is registered and its receipt printed
to the file printer; the simulated scanner writes realistic A4 300 dpi pages
(cover sheets, Chinese text, an evidence photo, an express waybill whose
foreign barcodes must not split anything) into the hot folder; the demo waits
until central has acknowledged every batch, prints central's reconciliation,
and ends with one line of real figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEMO_CASE = "(2026)京0102民初1234号"
DEMO_ITEMS = (("起诉状", 3), ("证据材料", 4), ("授权委托书", 1))


@dataclass(frozen=True)
class DemoHomes:
    root: Path
    central: Path
    edge: Path


def juanzong(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-P", "-m", "juanzong.shared.cli", *args],
        capture_output=True,
        text=True,
        check=check,
        env={**os.environ, **(env or {})},
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    out = open(log, "ab")
    return subprocess.Popen(
        [sys.executable, "-P", "-m", "juanzong.shared.cli", *args], stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )


def stop(proc: subprocess.Popen | None) -> None:
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_central(edge_home: Path, timeout: float = 20.0) -> None:
    """Until central answers the appliance over mutual TLS, as sync will reach it."""
    from juanzong.edge.config import load_settings
    from juanzong.edge.sync.transport import transport_for
    from juanzong.shared.errors import AppError

    transport = transport_for(load_settings(edge_home))
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            transport.health()
            return
        except AppError:
            time.sleep(0.1)
    raise TimeoutError(f"central did not answer in {timeout:.0f} s")


def setup_homes(root: Path, port: int, central_args: Sequence[str] = ()) -> DemoHomes:
    """Both homes, enrolled and paired; `central_args` are further `central init` options (the stack)."""
    homes = DemoHomes(root, root / "central", root / "edge")
    juanzong("central", "init", "--home", str(homes.central), "--host", "127.0.0.1", "--port", str(port), *central_args)
    juanzong(
        "edge",
        "init",
        "--home",
        str(homes.edge),
        "--profile",
        "simulated",
        "--printer",
        "file-printer",
        "--central",
        str(homes.central / "central-identity.json"),
        "--central-url",
        f"https://127.0.0.1:{port}",
        "--name",
        "演示扫描点",
    )
    _tune_for_demo(homes.edge)
    enrolment = root / "enrolment.json"
    juanzong("central", "enroll", "--home", str(homes.central), str(homes.edge / "appliance-identity.json"), "--out", str(enrolment))
    juanzong("edge", "pair", "--home", str(homes.edge), "--enrolment", str(enrolment))
    return homes


DEMO_OPERATORS = (("C01", "李四", "clerk", "246810"), ("O01", "赵扫描", "operator", "112233"), ("S01", "王主管", "supervisor", "135790"))


def add_operators(edge_home: Path, kiosk_port: int) -> str:
    """Demo kiosk logins, and the kiosk on a free loopback port; returns its URL."""
    for oid, name, role, pin in DEMO_OPERATORS:
        juanzong("edge", "operator", "add", "--home", str(edge_home), "--id", oid, "--name", name, "--role", role, "--pin", pin)
    config = edge_home / "config.toml"
    text = config.read_text("utf-8")
    text = (
        "\n".join(f'kiosk_listen = "127.0.0.1:{kiosk_port}"' if line.startswith("kiosk_listen =") else line for line in text.splitlines())
        + "\n"
    )
    config.write_text(text, "utf-8")
    return f"http://127.0.0.1:{kiosk_port}/"


def _tune_for_demo(edge_home: Path) -> None:
    """Short batch and sync intervals, so the demo does not idle."""
    config = edge_home / "config.toml"
    text = config.read_text("utf-8")
    for key, value in (("batch_idle_seconds", "1.0"), ("sync_interval_seconds", "0.5"), ("sync_backoff_max_seconds", "2.0")):
        text = "\n".join(f"{key} = {value}" if line.startswith(f"{key} =") else line for line in text.splitlines()) + "\n"
    config.write_text(text, "utf-8")


def register_intake(edge_home: Path) -> dict:
    items = [arg for name, pages in DEMO_ITEMS for arg in ("--item", f"{name}:{pages}")]
    out = juanzong(
        "edge", "intake", "add", "--json", "--home", str(edge_home), "--case", DEMO_CASE, "--submitter", "张三", "--clerk", "李四", *items
    )
    return json.loads(out.stdout)


def scan_pages(edge_home: Path, intake: dict, extra_pages: int = 0) -> dict[str, str]:
    """Feed the simulated scanner: a cover sheet before each item, then its pages.
    Returns file name → SHA-256 of every material page as the scanner wrote it."""
    from juanzong.edge.coversheet import CoverSheetInfo, render_cover_sheet
    from juanzong.edge.tooling.pages import photo_page, text_page, waybill_page
    from juanzong.edge.tooling.scanner import SimulatedScanner

    scanner = SimulatedScanner(edge_home / "hot", start=_next_scan_number(edge_home))
    pages: dict[str, str] = {}
    for n, item in enumerate(intake["items"], start=1):
        info = CoverSheetInfo(
            item_id=item["item_id"],
            intake_id=intake["intake_id"],
            case_number=intake["case_number"],
            item_name=item["name"],
            declared_pages=item["declared_pages"],
            volume=item["volume"],
            catalog_dir=item["catalog_dir"],
            item_seq=n,
            item_count=len(intake["items"]),
        )
        scanner.write(render_cover_sheet(info))
        for k in range(item["declared_pages"] + extra_pages):
            seed = n * 100 + k
            if item["name"] == "证据材料" and k == 1:
                img = waybill_page(seed)
            elif item["name"] == "证据材料" and k == 2:
                img = photo_page(seed)
            else:
                img = text_page(seed, title=item["name"] if k == 0 else None)
            path = scanner.write(img)
            pages[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return pages


def _next_scan_number(edge_home: Path) -> int:
    """Continue the scanner's counter across several feeds, as a real scanner does."""
    counter = edge_home / "demo-scan-counter"
    n = int(counter.read_text()) if counter.exists() else 1
    counter.write_text(str(n + 1000))
    return n


def wait_synced(edge_home: Path, expected_pages: int, timeout: float = 60.0) -> dict:
    from juanzong.edge.repo.batches import BatchState

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        st = json.loads(juanzong("edge", "status", "--home", str(edge_home), "--json").stdout)
        stored = sum(i["pages"] for i in st["items"]) + st["unassigned"] + st["quarantine"]["count"]
        settled = st["hot_folder"]["waiting"] == 0 and st["hot_folder"]["in_progress"] == 0
        # pages, items and intakes; an item's PDF and notice follow later (wait_documents)
        pending = {k: v for k, v in st["unbatched"].items() if k not in ("documents", "notices")}
        acked = all(b["state"] == BatchState.ACKNOWLEDGED for b in st["batches"]) and not any(pending.values())
        if stored >= expected_pages and settled and acked and st["batches"]:
            return st
        time.sleep(0.3)
    raise TimeoutError(f"central did not acknowledge everything within {timeout:.0f} s")


def close_items(edge_home: Path, intake: dict) -> None:
    """The operator closes every item (多扫/漏扫 checked): that completes it and, once its
    searchable PDF is made, files its 入卷提醒."""
    for item in intake["items"]:
        juanzong("edge", "close", "--home", str(edge_home), item["item_id"])


def wait_documents(edge_home: Path, items: int, timeout: float = 900.0) -> dict:
    """Until every item's searchable PDF and notice are made and central acknowledged them."""
    from juanzong.edge.repo.batches import BatchState

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        st = json.loads(juanzong("edge", "status", "--home", str(edge_home), "--json").stdout)
        docs = st["documents"]
        acked = all(b["state"] == BatchState.ACKNOWLEDGED for b in st["batches"]) and not any(st["unbatched"].values())
        if docs["searchable"] >= items and docs["notices"] >= items and docs["ocr_queue"]["length"] == 0 and acked:
            return st
        time.sleep(1.0)
    raise TimeoutError(f"the searchable PDFs were not all made and synced within {timeout:.0f} s")


def fetch_documents(central_home: Path, intake: dict, out_dir: Path) -> dict:
    """Every item's PDF from central (decrypted, audited): stamped on every page, searchable or not."""
    import pikepdf

    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {"documents": 0, "searchable": 0, "stamped_pages": 0, "pages": 0}
    for item in intake["items"]:
        out = out_dir / f"{item['seq']:02d}-{item['item_id']}.pdf"
        if juanzong("central", "document", "--home", str(central_home), item["item_id"], "--out", str(out), check=False).returncode:
            continue
        pdf = pikepdf.open(out)
        counts["documents"] += 1
        counts["pages"] += len(pdf.pages)
        counts["searchable"] += any("/JZOcr" in (p.obj.Resources.get("/Font") or {}) for p in pdf.pages)
        counts["stamped_pages"] += sum(len(p.obj.Contents) >= 2 if isinstance(p.obj.Contents, pikepdf.Array) else 0 for p in pdf.pages)
    return counts


def figures(central_home: Path, scanned: int) -> dict:
    report = json.loads(juanzong("central", "report", "--home", str(central_home), "--json").stdout)
    received = report["totals"]["received_pages"]
    missing = report["totals"]["missing"]
    # a scan stored twice, or two pages under one number (重码)
    duplicate = report["totals"]["duplicate_pages"] + report["totals"]["duplicate_page_numbers"]
    return {"scanned": scanned, "received": received, "missing": missing, "duplicate": duplicate}


DEMO_OFFICE_USERS = (
    ("archive", "档案员演示", "clerk", "demo-archive-2026"),
    ("chief", "档案室主管演示", "supervisor", "demo-chief-2026"),
    ("audit", "审计员演示", "auditor", "demo-audit-2026"),
)


def add_office_users(central_home: Path, office_port: int) -> str:
    """Demo archive-office logins, and the office pages on a free loopback port; returns their URL."""
    config = central_home / "config.toml"
    text = (
        "\n".join(
            f"office_port = {office_port}" if line.startswith("office_port =") else line for line in config.read_text("utf-8").splitlines()
        )
        + "\n"
    )
    config.write_text(text, "utf-8")
    for uid, name, role, password in DEMO_OFFICE_USERS:
        subprocess.run(
            [
                sys.executable,
                "-P",
                "-m",
                "juanzong.shared.cli",
                "central",
                "user",
                "add",
                "--home",
                str(central_home),
                "--id",
                uid,
                "--name",
                name,
                "--role",
                role,
            ],
            input=password + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
    return f"https://127.0.0.1:{office_port}/"


def _serve_kiosk(url: str, office_url: str = "", ca: Path | None = None) -> None:
    logins = "；".join(f"{name}（{role}）工号 {oid} 密码 {pin}" for oid, name, role, pin in DEMO_OPERATORS)
    print(f"柜台终端与质检工作站：{url}  {logins}")
    if office_url:
        people = "；".join(f"{name} 账号 {uid} 密码 {pw}" for uid, name, _role, pw in DEMO_OFFICE_USERS)
        print(f"档案室：{office_url}（法院内部 CA 证书：{ca}）  {people}")
    print("按 Ctrl-C 结束演示")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def main(args: argparse.Namespace) -> int:
    root = Path(args.keep).resolve() if args.keep else Path(tempfile.mkdtemp(prefix="juanzong-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    central = edge = lab = None
    try:
        lab, central_args, workers = _central_stack(root, getattr(args, "stack", "sqlite-local"))
        homes = setup_homes(root, port, central_args)
        office_url = add_office_users(homes.central, free_port())
        central = start(["central", "serve", "--home", str(homes.central), "--workers", str(workers)], root / "central.log")
        wait_central(homes.edge)
        kiosk_url = add_operators(homes.edge, free_port())
        intake = register_intake(homes.edge)
        provisional = "（暂定）" if intake.get("deadline_provisional") else ""
        print(f"收取登记 {intake['intake_id']}：{intake['case_number']}，办理时限 {intake['deadline']}{provisional}")
        edge = start(["edge", "run", "--home", str(homes.edge)], root / "edge.log")
        scanned = len(scan_pages(homes.edge, intake, args.pages))
        wait_synced(homes.edge, scanned)
        close_items(homes.edge, intake)
        print("各件材料已关闭，等待生成可检索 PDF（文字识别在后台按时限排队）…", flush=True)
        wait_documents(homes.edge, len(intake["items"]))
        print(juanzong("central", "report", "--home", str(homes.central)).stdout, end="")
        print(juanzong("central", "notices", "--home", str(homes.central)).stdout, end="")
        f = figures(homes.central, scanned)
        d = fetch_documents(homes.central, intake, root / "documents")
        items = len(intake["items"])
        ok = (
            f["received"] == scanned
            and f["missing"] == 0
            and f["duplicate"] == 0
            and d["documents"] == items
            and d["searchable"] == items
            and d["stamped_pages"] == scanned
        )
        print(
            f"demo: {f['scanned']} pages scanned, {f['received']} received at central, {f['missing']} missing, {f['duplicate']} duplicate; "
            f"{d['documents']} of {items} items catalogued as stamped PDFs at central, {d['searchable']} searchable"
        )
        if getattr(args, "kiosk", False) or getattr(args, "serve", False):
            _serve_kiosk(kiosk_url, office_url, homes.central / "keys" / "ca.crt")
        return 0 if ok else 1
    finally:
        stop(edge)
        stop(central)
        if lab is not None:
            lab.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        elif lab is not None:
            print(f"数据保留在 {root}（PostgreSQL 集群 postgres/data，对象存储 s3/weed；服务器已停止）")


def _central_stack(root: Path, stack: str) -> tuple[Any, list[str], int]:
    """(servers to stop, `central init` options, workers) for the chosen stack.

    postgres-s3: a private PostgreSQL cluster and a SeaweedFS S3 store started
    here, in the demo's directory, on loopback only; central runs two workers."""
    if stack == "sqlite-local":
        return None, [], 1
    from juanzong.central.labstack import open_for_postgres, start_province

    open_for_postgres(root)
    lab = start_province(root)
    print(f"中心数据库：PostgreSQL（本机私有集群，{lab.pg.socket_dir}）；对象存储：SeaweedFS S3（{lab.s3.endpoint_url}）；2 个工作进程")
    return lab, lab.init_args("juanzong"), 2
