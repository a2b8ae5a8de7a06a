"""`edge lockdown`: the rendered OS profile, checked with the tools that run it.

- every rendered service scores ≤ 2.0 in `systemd-analyze security --offline=true`
- `nft -c -f` accepts the ruleset
- the ruleset loaded in a network namespace this test creates holds: loopback
  sub-ranges stand in for the court (127.0.10.0/24, allowed), the outside world
  (127.0.20.0/24, dropped), a court DNS resolver and a network printer
- `--apply` into a staging root installs the tree and turns swap off in its fstab
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from juanzong.shared.errors import AppError, ErrorCode

SHIPPED = Path(__file__).resolve().parents[2] / "firmware_profiles"
ALL_COMMANDS = frozenset({"run", "documents-worker"})
LAB_PRINTER = """\
schema = 1
kind = "printer"
name = "lab-net"
title = "实验网络打印机"
transport = "network"
width_dots = 576
chinese = "raster"
escpos_profile = "TM-T20II"

[network]
host = "127.0.40.9"
port = 9100
"""


@pytest.fixture
def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "profiles"
    shutil.copytree(SHIPPED, root)
    (root / "printers" / "lab-net.toml").write_text(LAB_PRINTER, "utf-8")
    monkeypatch.setenv("JUANZONG_PROFILES", str(root))
    return root


def _home(tmp_path: Path, central_keys, *, printer: str, scanner: str = "fujitsu-fi-7160", **extra):
    from juanzong.edge.config import load_settings
    from juanzong.edge.home import init_home

    home = tmp_path / f"home-{printer}"
    values = {"hot_folder": str(tmp_path / f"hot-{printer}"), "court_networks": ["127.0.10.0/24"], "court_dns": ["127.0.30.53"], **extra}
    init_home(home, profile=scanner, printer=printer, central_identity=central_keys.identity_file, extra=values)
    return load_settings(home)


def _render(settings, out: Path, commands=ALL_COMMANDS):
    from juanzong.edge.lockdown import install, systemd
    from juanzong.edge.lockdown.command import render_all
    from juanzong.edge.lockdown.inputs import gather

    inp = gather(settings, executable=Path("/opt/juanzong/bin/juanzong"), commands=commands)
    files = render_all(inp)
    install.write(out, install.plan(inp, files), {})
    return inp, files, [out / f.target.lstrip("/") for f in systemd.service_units(files)]


needs_systemd_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
needs_nft = pytest.mark.skipif(shutil.which("nft") is None, reason="nft not installed (Debian nftables, Makefile DEBS)")


@needs_systemd_analyze
@pytest.mark.parametrize("printer", ["escpos-80mm", "lab-net", "file-printer"])
def test_every_service_scores_at_most_2(tmp_path, central_keys, profiles, printer):
    from juanzong.edge.lockdown import checks

    settings = _home(tmp_path, central_keys, printer=printer, counter_interface="enp2s0")
    _, _, units = _render(settings, tmp_path / "out")
    assert {u.name for u in units} == {"juanzong-edge.service", "juanzong-ocr.service"}
    scores = {u.name: checks.exposure(u) for u in units}
    print({name: s.exposure for name, s in scores.items()}, printer)
    for name, score in scores.items():
        assert score.exposure <= checks.MAX_EXPOSURE, (name, score.exposure, score.open_points)
    # the OCR worker has no network at all
    assert scores["juanzong-ocr.service"].exposure < scores["juanzong-edge.service"].exposure


def test_units_say_what_the_issue_asks(tmp_path, central_keys, profiles):
    settings = _home(tmp_path, central_keys, printer="lab-net")
    inp, files, units = _render(settings, tmp_path / "out")
    edge = (tmp_path / "out/etc/systemd/system/juanzong-edge.service").read_text("utf-8")
    for line in (
        "User=juanzong",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
        "SystemCallFilter=@system-service",
        "IPAddressDeny=any",
        f"ReadWritePaths={settings.home} {settings.hot_folder}",
        f"ReadOnlyPaths={settings.keys_dir}",
        "IPAddressAllow=localhost 127.0.10.0/24 127.0.40.9/32 127.0.30.53",
        f"ExecStart=/opt/juanzong/bin/juanzong edge run --home {settings.home}",
        f"RequiresMountsFor={settings.hot_folder}",
        "Requires=juanzong-swapoff.service",
    ):
        assert line in edge, line
    ocr = (tmp_path / "out/etc/systemd/system/juanzong-ocr.service").read_text("utf-8")
    assert "PrivateNetwork=yes" in ocr and "edge documents-worker --home" in ocr and str(settings.hot_folder) not in ocr
    from juanzong.edge.lockdown.systemd import mount_unit_name

    mount = tmp_path / "out/etc/systemd/system" / mount_unit_name(settings.hot_folder)
    text = mount.read_text("utf-8")
    assert "Type=tmpfs" in text and f"Where={settings.hot_folder}" in text
    assert "size=3072m" in text and "uid=juanzong" in text and "noexec" in text  # 1024 + 2048 MB (fanless-2core)
    swap = (tmp_path / "out/etc/systemd/system/juanzong-swapoff.service").read_text("utf-8")
    assert "ExecStart=/sbin/swapoff -a" in swap
    plan = json.loads((tmp_path / "out/plan.json").read_text("utf-8"))
    assert ["swapoff", "-a"] in plan["commands"]


@pytest.mark.skipif(shutil.which("systemd-escape") is None, reason="systemd-escape not installed")
@pytest.mark.parametrize("path", ["/run/juanzong/hot", "/srv/扫描/hot-1", "/var/lib/jz.hot/a b", "/tmp/x-y/.z"])
def test_mount_unit_names_match_systemd_escape(path):
    from juanzong.edge.lockdown.systemd import escape_path

    expected = subprocess.run(["systemd-escape", "--path", path], capture_output=True, text=True, check=True).stdout.strip()
    assert escape_path(path) == expected


def test_udev_refuses_mass_storage_and_admits_registered_media_and_the_printer(tmp_path, central_keys, profiles):
    settings = _home(tmp_path, central_keys, printer="escpos-80mm")
    _render(settings, tmp_path / "out")
    rules = (tmp_path / "out/etc/udev/rules.d/70-juanzong-usb.rules").read_text("utf-8")
    refuse = [line for line in rules.splitlines() if 'ATTR{bInterfaceClass}=="08"' in line]
    assert len(refuse) == 1 and 'ATTR{authorized}="0"' in refuse[0] and 'ENV{JUANZONG_MEDIA}!="check|prepare"' in refuse[0]
    block = [line for line in rules.splitlines() if 'SUBSYSTEM=="block"' in line]
    assert len(block) == 1 and 'ENV{JUANZONG_MEDIA}!="registered|prepare"' in block[0] and "echo 0 > $$d/authorized" in block[0]
    for allowed in ('=="06"', '=="07"', '=="ff"'):
        assert not any(allowed in line and "authorized" in line for line in rules.splitlines())
    assert 'ATTR{idVendor}=="04b8", ATTR{idProduct}=="0e15", GROUP="juanzong", MODE="0660"' in rules
    hook = tmp_path / "out/etc/udev/rules.d/69-juanzong-registered-media.rules"
    assert hook.exists() and hook.name < "70-juanzong-usb.rules"  # read first: it can set the mark
    # nothing registered yet: no interface is let through to the block layer
    assert 'ENV{JUANZONG_MEDIA}="check"' not in hook.read_text("utf-8")


def _medium(db, uuid: str | None, valid_until: datetime) -> str:
    from juanzong.edge.repo import media as media_rows
    from juanzong.edge.repo import write_tx
    from juanzong.shared.ids import Kind, new_id

    medium_id = new_id(Kind.MEDIUM)
    with write_tx(db):
        media_rows.upsert_initialised(
            db,
            medium_id=medium_id,
            label="U盘",
            registration="{}",
            fs_uuid=uuid,
            valid_until=valid_until.isoformat(timespec="seconds"),
            initialised_at=NOW.isoformat(),
        )
    return medium_id


NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_registered_media_rules_follow_init_and_expiry(tmp_path, central_keys, profiles):
    """69 admits the filesystem UUIDs of media registered here and still valid, nothing else; re-rendered
    into the installed root (here a staging root, never this machine's /etc) when they change."""
    from juanzong.edge import audit
    from juanzong.edge.lockdown import checks
    from juanzong.edge.lockdown.media_rules import record_root, refresh
    from juanzong.edge.repo import connect, migrate

    settings = _home(tmp_path, central_keys, printer="escpos-80mm")
    migrate(settings)
    db = connect(settings.db_path)
    root = tmp_path / "root"
    assert refresh(db, settings.appliance_id, NOW, actor="S01").root is None  # no OS profile installed: nothing written
    record_root(db, root)
    soon = _medium(db, "1A2B-3C4D", NOW + timedelta(days=1))
    later = _medium(db, "0f5e7c2a-33d1-4b8e-9a77-5d0c1e2f3a4b", NOW + timedelta(days=30))
    expired = _medium(db, "9999-AAAA", NOW - timedelta(seconds=1))
    _medium(db, None, NOW + timedelta(days=30))  # a plain directory: no filesystem to admit
    flag = root / "run/juanzong/media-prepare"
    flag.parent.mkdir(parents=True)
    flag.write_text("")

    done = refresh(db, settings.appliance_id, NOW, actor="S01", close_window=True)
    assert done.written and done.window_closed and not flag.exists() and not done.reloaded  # staging root: no udevadm run
    assert set(done.media) == {soon, later}
    text = (root / "etc/udev/rules.d/69-juanzong-registered-media.rules").read_text("utf-8")
    assert 'ENV{ID_FS_UUID}=="1A2B-3C4D", ENV{JUANZONG_MEDIA}="registered"' in text
    assert 'ENV{ID_FS_UUID}=="0f5e7c2a-33d1-4b8e-9a77-5d0c1e2f3a4b"' in text
    assert "9999-AAAA" not in text and expired not in text and "5555-0000" not in text
    assert 'ATTR{bInterfaceClass}=="08", ENV{JUANZONG_MEDIA}!="prepare", ENV{JUANZONG_MEDIA}="check"' in text
    assert not refresh(db, settings.appliance_id, NOW + timedelta(hours=1), actor="system").written  # unchanged

    done = refresh(db, settings.appliance_id, NOW + timedelta(days=2), actor="system")  # the first one expired
    text = (root / "etc/udev/rules.d/69-juanzong-registered-media.rules").read_text("utf-8")
    assert done.written and done.media == (later,) and "1A2B-3C4D" not in text and "0f5e7c2a" in text
    done = refresh(db, settings.appliance_id, NOW + timedelta(days=31), actor="system")  # all expired
    text = (root / "etc/udev/rules.d/69-juanzong-registered-media.rules").read_text("utf-8")
    assert done.media == () and "ID_FS_UUID" not in text and 'ENV{JUANZONG_MEDIA}="check"' not in text
    rewrites = [r for r in audit.records(db) if r.action == "media_rules"]
    assert [r.actor for r in rewrites] == ["S01", "system", "system"] and rewrites[0].detail["window_closed"] is True

    # `edge lockdown` renders 69 from the same table (by the program's clock) next to 70; udev parses both
    from juanzong.edge.lockdown import install
    from juanzong.edge.lockdown.command import render_all
    from juanzong.edge.lockdown.inputs import gather
    from juanzong.shared import clock

    with clock.use(lambda: NOW + timedelta(days=2)):
        inp = gather(settings, executable=Path("/opt/juanzong/bin/juanzong"), commands=ALL_COMMANDS)
    db.close()
    assert [m.medium_id for m in inp.media] == [later]
    install.write(tmp_path / "out", install.plan(inp, render_all(inp)), {})
    rules_dir = tmp_path / "out/etc/udev/rules.d"
    assert "0f5e7c2a-33d1-4b8e-9a77-5d0c1e2f3a4b" in (rules_dir / "69-juanzong-registered-media.rules").read_text("utf-8")
    if shutil.which("udevadm") is None or shutil.which("unshare") is None:
        pytest.skip("udevadm not installed: rules not parsed")
    assert checks.udev_problems(rules_dir) == []
    (rules_dir / "71-broken.rules").write_text('ACTION=="add", NOSUCHKEY=="1", ENV{X}="1"\n', "utf-8")
    assert any("71-broken.rules:1" in p for p in checks.udev_problems(rules_dir))  # the parser does report mistakes


@pytest.mark.parametrize(
    "extra, fragment",
    [
        ({"court_dns": ["dns.court.internal"]}, "court_dns"),
        ({"service_user": "root"}, "root"),
        ({"counter_interface": "eth0; rm"}, "counter_interface"),
        ({"kiosk_listen": "0.0.0.0:8080", "counter_interface": "enp2s0"}, "所有网卡"),
        ({"kiosk_listen": "10.20.1.5:8080"}, "counter_interface"),
    ],
)
def test_settings_that_would_make_the_profile_a_lie_are_refused(tmp_path, central_keys, profiles, extra, fragment):
    settings = _home(tmp_path, central_keys, printer="file-printer", **extra)
    with pytest.raises(AppError) as err:
        _render(settings, tmp_path / "out")
    assert err.value.code == ErrorCode.LOCKDOWN_INVALID and fragment in err.value.message


def test_a_printer_named_by_host_name_and_a_program_under_home_are_refused(tmp_path, central_keys, profiles):
    from juanzong.edge.lockdown.inputs import gather

    (profiles / "printers" / "lab-net.toml").write_text(LAB_PRINTER.replace("127.0.40.9", "printer.court.internal"), "utf-8")
    settings = _home(tmp_path, central_keys, printer="lab-net")
    with pytest.raises(AppError) as err:
        gather(settings, executable=Path("/opt/juanzong/bin/juanzong"), commands=ALL_COMMANDS)
    assert err.value.code == ErrorCode.LOCKDOWN_INVALID and "printer.court.internal" in err.value.message
    settings = _home(tmp_path, central_keys, printer="file-printer")
    with pytest.raises(AppError) as err:
        gather(settings, executable=Path("/home/clerk/venv/bin/juanzong"), commands=ALL_COMMANDS)
    assert "/home" in err.value.message


@needs_nft
def test_nft_checks_the_ruleset_and_refuses_a_broken_one(tmp_path, central_keys, profiles):
    from juanzong.edge.lockdown import checks

    settings = _home(tmp_path, central_keys, printer="lab-net", counter_interface="enp2s0", kiosk_listen="10.20.1.5:8443")
    _render(settings, tmp_path / "out")
    ruleset = tmp_path / "out/etc/nftables.conf"
    checks.nft_check(ruleset)
    assert 'iifname "enp2s0" ip daddr 10.20.1.5 tcp dport 8443 accept' in ruleset.read_text("utf-8")
    broken = tmp_path / "broken.nft"
    broken.write_text(ruleset.read_text("utf-8").replace("policy drop;", "policy maybe;", 1), "utf-8")
    with pytest.raises(AppError) as err:
        checks.nft_check(broken)
    assert err.value.code == ErrorCode.LOCKDOWN_CHECK_FAILED


# Runs inside the new network namespace: the loopback interface is the whole network.
PROBE = textwrap.dedent("""
    import json, socket, subprocess, sys

    def listen(addr, kind=socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        s.bind((addr, 0 if kind == socket.SOCK_STREAM else 53))
        if kind == socket.SOCK_STREAM:
            s.listen(16)
        return s

    def tcp(addr, port, timeout):
        try:
            socket.create_connection((addr, port), timeout=timeout).close()
            return "connected"
        except socket.timeout:
            return "dropped"
        except OSError as exc:
            return f"error {exc.errno}"

    def dns(addr, server):
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.settimeout(1.5)
        try:
            c.sendto(b"query", (addr, 53))
        except PermissionError:  # the output hook dropped it: the kernel says so to a local sender
            return "dropped"
        try:
            server.settimeout(1.5)
            return "delivered" if server.recvfrom(64)[0] == b"query" else "?"
        except socket.timeout:
            return "dropped"

    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    court, outside = listen("127.0.10.1"), listen("127.0.20.1")
    other_port = listen("127.0.40.9")
    resolver, rogue = listen("127.0.30.53", socket.SOCK_DGRAM), listen("127.0.20.53", socket.SOCK_DGRAM)
    port = lambda s: s.getsockname()[1]
    before = tcp("127.0.20.1", port(outside), 5)
    subprocess.run(["nft", "-f", sys.argv[1]], check=True)
    out = {
        "outside_before_firewall": before,
        "court": tcp("127.0.10.1", port(court), 5),
        "outside": tcp("127.0.20.1", port(outside), 1.5),
        "dns_court": dns("127.0.30.53", resolver),
        "dns_rogue": dns("127.0.20.53", rogue),
    }
    printer = sys.argv[2]
    # the printer's port as rendered (the fixture's profile says 9100): rebind a listener there
    p = socket.socket(); p.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); p.bind(("127.0.40.9", int(printer))); p.listen(4)
    out["printer"] = tcp("127.0.40.9", int(printer), 5)
    out["printer_other_port"] = tcp("127.0.40.9", port(other_port), 1.5)
    counter = json.loads(subprocess.run(["nft", "-j", "list", "counter", "inet", "juanzong", "refused_egress"],
                                        capture_output=True, text=True, check=True).stdout)
    out["refused_packets"] = next(o["counter"]["packets"] for o in counter["nftables"] if "counter" in o)
    print(json.dumps(out))
""")


def _unshare_net() -> list[str]:
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) not installed")
    return ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--map-root-user", "--net"]


@needs_nft
def test_the_firewall_holds_in_a_network_namespace(tmp_path, central_keys, profiles):
    settings = _home(tmp_path, central_keys, printer="lab-net")
    _render(settings, tmp_path / "out")
    ruleset = tmp_path / "out/etc/nftables.conf"
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE, "utf-8")
    command = [*_unshare_net(), sys.executable, "-P", str(probe), str(ruleset), "9100"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if run.returncode != 0 and "unshare" in run.stderr and "Operation not permitted" in run.stderr:
        pytest.skip(f"cannot create a network namespace here: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["outside_before_firewall"] == "connected"  # the probe can tell a refused connection from a slow one
    assert seen["court"] == "connected"
    assert seen["outside"] == "dropped"
    assert seen["dns_court"] == "delivered" and seen["dns_rogue"] == "dropped"
    assert seen["printer"] == "connected" and seen["printer_other_port"] == "dropped"
    assert seen["refused_packets"] >= 3  # the drops were the firewall's, not a slow machine


@needs_nft
@needs_systemd_analyze
def test_the_command_renders_checks_and_applies_to_a_staging_root(tmp_path, central_keys, profiles):
    settings = _home(tmp_path, central_keys, printer="escpos-80mm")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/fstab").write_text("UUID=abc / ext4 defaults 0 1\nUUID=def none swap sw 0 0\n# old swap\n", "utf-8")
    env = {**os.environ, "JUANZONG_PROFILES": str(profiles)}
    run = subprocess.run(
        [
            sys.executable,
            "-P",
            "-m",
            "juanzong.shared.cli",
            "edge",
            "lockdown",
            "--home",
            str(settings.home),
            "--out",
            str(tmp_path / "out"),
            "--apply",
            "--root",
            str(root),
            "--executable",
            "/opt/juanzong/bin/juanzong",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["nft_check"] is True and out["skipped"] == []
    assert out["udev_check"] is (True if shutil.which("udevadm") else None)
    assert out["exposure"]["juanzong-edge.service"] <= 2.0
    assert out["exposure"]["juanzong-ocr.service"] <= 2.0  # this build's documents worker, found by the command
    print("exposure", out["exposure"])
    assert (root / "etc/systemd/system/juanzong-edge.service").read_text("utf-8") == (
        tmp_path / "out/etc/systemd/system/juanzong-edge.service"
    ).read_text("utf-8")
    assert (root / "etc/nftables.conf").exists() and (root / "etc/udev/rules.d/70-juanzong-usb.rules").exists()
    assert (root / "etc/udev/rules.d/69-juanzong-registered-media.rules").exists()
    timer = (root / "etc/systemd/system/juanzong-media-rules.timer").read_text("utf-8")
    assert "OnCalendar=hourly" in timer and "edge media rules --home" in (
        root / "etc/systemd/system/juanzong-media-rules.service"
    ).read_text("utf-8")
    fstab = (root / "etc/fstab").read_text("utf-8")
    assert "\n# juanzong: swap off # UUID=def none swap sw 0 0\n" in fstab and fstab.startswith("UUID=abc / ext4")
    applied = out["applied"]
    assert applied["commands_run"] == [] and "swapoff -a" in applied["commands_skipped"]
    from juanzong.edge import audit
    from juanzong.edge.lockdown.media_rules import installed_root
    from juanzong.edge.repo import connect

    db = connect(settings.db_path)
    assert [r.action for r in audit.records(db)][-1] == "lockdown_apply"
    assert installed_root(db) == root.resolve()  # where `edge media init` / `edge media rules` keep 69 in step
    db.close()
