"""Helpers for end-to-end tests of air-gapped sites: one central and two appliances made by the
commands an operator runs, pages through real ingest, media as loop-mounted filesystem images."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from juanzong.edge.tooling.demo import juanzong, register_intake, scan_pages

CASE = "（2026）京0102民初1234号"
SUBMITTER = "张三"


@dataclass
class Site:
    central: Path
    a: Path
    b: Path
    root: Path


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return juanzong(*args, check=False, env=env)


def appliance_id(home: Path) -> str:
    return json.loads((home / "appliance-identity.json").read_text("utf-8"))["appliance_id"]


def make_site(tmp_path: Path) -> Site:
    central = tmp_path / "central"
    juanzong("central", "init", "--home", str(central), "--no-tls")
    homes = {}
    for name in ("a", "b"):
        home = tmp_path / f"edge-{name}"
        # air-gapped: no --central-url, so nothing ever tries the network
        juanzong(
            "edge",
            "init",
            "--home",
            str(home),
            "--profile",
            "simulated",
            "--central",
            str(central / "central-identity.json"),
            "--name",
            f"无网扫描点{name}",
        )
        juanzong("central", "enroll", "--home", str(central), str(home / "appliance-identity.json"))
        homes[name] = home
    return Site(central, homes["a"], homes["b"], tmp_path)


def scan_and_ingest(home: Path) -> int:
    intake = register_intake(home)
    pages = scan_pages(home, intake)
    juanzong("edge", "ingest", "--home", str(home), "--once", "--settle", "0.2")
    return len(pages)


class Medium:
    """A filesystem image loop-mounted at `path` (vfat, else ext4), or a plain directory."""

    def __init__(self, root: Path, name: str, size_mb: int = 64) -> None:
        self.path = root / f"mnt-{name}"
        self.path.mkdir()
        self.image = root / f"{name}.img"
        self.kind = "directory"
        if os.geteuid() == 0 and shutil.which("losetup"):
            self._try_mount(size_mb)

    def _try_mount(self, size_mb: int) -> None:
        with self.image.open("wb") as f:
            f.truncate(size_mb * 1024 * 1024)
        for fs, mkfs in (("vfat", ["mkfs.vfat"]), ("ext4", ["mkfs.ext4", "-q", "-F"])):
            if not shutil.which(mkfs[0]):
                continue
            subprocess.run([*mkfs, str(self.image)], check=True, capture_output=True)
            if subprocess.run(["mount", "-o", "loop", str(self.image), str(self.path)], capture_output=True).returncode == 0:
                self.kind = fs
                return

    def unmount(self) -> None:
        if self.kind != "directory":
            subprocess.run(["umount", str(self.path)], check=True)
            self.kind = "directory"

    def files(self) -> list[Path]:
        return [p for p in self.path.rglob("*") if p.is_file()]


def register(site: Site, home: Path, label: str, days: int = 30) -> Path:
    out = site.root / f"registration-{label}.json"
    juanzong(
        "central",
        "media",
        "register",
        "--home",
        str(site.central),
        "--appliance",
        appliance_id(home),
        "--label",
        label,
        "--days",
        str(days),
        "--out",
        str(out),
    )
    return out


def prepared(site: Site, home: Path, medium: Medium, label: str) -> Medium:
    juanzong("edge", "media", "init", "--home", str(home), "--registration", str(register(site, home, label)), "--device", str(medium.path))
    return medium


def export(home: Path, medium: Medium, env: dict | None = None) -> subprocess.CompletedProcess:
    return cli("edge", "media", "export", "--home", str(home), "--to", str(medium.path), "--json", "--operator", "O01", env=env)


def import_(site: Site, medium: Medium) -> subprocess.CompletedProcess:
    return cli("central", "media", "import", "--home", str(site.central), "--from", str(medium.path), "--json", "--operator", "档案员甲")


def receipts(home: Path, medium: Medium) -> subprocess.CompletedProcess:
    return cli("edge", "media", "receipts", "--home", str(home), "--from", str(medium.path), "--json", "--operator", "O01")


def batch_states(home: Path) -> list[str]:
    st = json.loads(juanzong("edge", "status", "--home", str(home), "--json").stdout)
    return [b["state"] for b in st["batches"]]


def central_pages(site: Site) -> int:
    report = json.loads(juanzong("central", "report", "--home", str(site.central), "--json").stdout)
    return report["totals"]["received_pages"]


def central_batches(site: Site) -> int:
    import sqlite3

    with sqlite3.connect(site.central / "data" / "central.db") as conn:
        return conn.execute("SELECT COUNT(*) FROM batches").fetchone()[0]


def _audit_rows(db_path: Path, sql: str, params: list) -> list[tuple]:
    import sqlite3

    if db_path.name == "edge.db":  # encrypted at rest (edge/repo/cipher.py): opened with its key
        from juanzong.edge.repo import connect

        db = connect(db_path)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, params).fetchall()


def audit_actions(db_path: Path) -> list[tuple[str, str]]:
    return _audit_rows(db_path, "SELECT action, outcome FROM audit ORDER BY seq", [])


def audit_records(db_path: Path, action: str) -> list[dict]:
    """(actor, target, outcome, detail) of every record of `action`, oldest first."""
    rows = _audit_rows(db_path, "SELECT actor, target, outcome, detail FROM audit WHERE action = ? ORDER BY seq", [action])
    return [{"actor": r[0], "target": r[1], "outcome": r[2], "detail": json.loads(r[3])} for r in rows]
