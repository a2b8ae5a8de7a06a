"""Writing the rendered profile, and `--apply`: installing it on the appliance.

`--out DIR` receives a tree that mirrors `/` (`DIR/etc/systemd/system/…`) plus `plan.json`:
the files with their targets and modes, and the commands `--apply` runs, in order, so an
administrator can read exactly what will happen before it does.

`apply(root=/)` needs root. With another root (a staging tree, the tests) it installs the
files and edits that root's `etc/fstab` but runs no command: they would act on this machine.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from juanzong.edge.lockdown.inputs import LockdownInputs
from juanzong.edge.lockdown.systemd import EDGE_UNIT, MEDIA_RULES_TIMER, OCR_UNIT, SWAPOFF_UNIT, RenderedFile, mount_unit_name
from juanzong.shared.durable import write_durable
from juanzong.shared.errors import AppError, ErrorCode

PLAN_FILE = "plan.json"
FSTAB_MARK = "# juanzong: swap off # "


@dataclass(frozen=True)
class Plan:
    files: tuple[RenderedFile, ...]
    commands: tuple[tuple[str, ...], ...]

    def to_dict(self) -> dict:
        return {
            "files": [{"target": f.target, "mode": f"{f.mode:04o}"} for f in self.files],
            "commands": [list(c) for c in self.commands],
        }


def _units_to_start(inp: LockdownInputs, targets: set[str]) -> list[str]:
    names = [SWAPOFF_UNIT]
    if inp.tmpfs_required:
        names.append(mount_unit_name(inp.hot_folder))
    names.append(EDGE_UNIT)
    names += [u for u in (OCR_UNIT, MEDIA_RULES_TIMER) if any(t.endswith("/" + u) for t in targets)]
    return names


def plan(inp: LockdownInputs, files: list[RenderedFile]) -> Plan:
    targets = {f.target for f in files}
    user = inp.user
    commands: list[tuple[str, ...]] = [
        ("systemd-sysusers", "/etc/sysusers.d/juanzong.conf"),
        ("chown", "-R", f"{user}:{user}", str(inp.home)),
        ("chmod", "0700", str(inp.home), str(inp.keys_dir)),
        ("swapoff", "-a"),
        ("systemctl", "daemon-reload"),
        ("systemctl", "enable", "--now", "nftables.service"),
        ("nft", "-f", "/etc/nftables.conf"),
        ("udevadm", "control", "--reload-rules"),
        ("udevadm", "trigger", "--action=add", "--subsystem-match=usb"),
        ("systemctl", "enable", "--now", *_units_to_start(inp, targets)),
    ]
    return Plan(tuple(files), tuple(commands))


def write(out: Path, the_plan: Plan, extra: dict) -> list[Path]:
    """The files under `out`, mirroring their targets, and plan.json."""
    written = []
    for f in the_plan.files:
        path = out / f.target.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f.text, "utf-8")
        os.chmod(path, f.mode)
        written.append(path)
    (out / PLAN_FILE).write_text(json.dumps({**the_plan.to_dict(), **extra}, ensure_ascii=False, indent=2), "utf-8")
    return written


def comment_out_swap(fstab: Path) -> int:
    """Swap lines in fstab commented out (kept, marked); returns how many."""
    if not fstab.exists():
        return 0
    lines = fstab.read_text("utf-8").splitlines(keepends=True)
    changed = 0
    for i, line in enumerate(lines):
        fields = line.split()
        if fields and not fields[0].startswith("#") and len(fields) >= 3 and fields[2] == "swap":
            lines[i] = FSTAB_MARK + line
            changed += 1
    if changed:
        shutil.copy2(fstab, fstab.with_name(fstab.name + ".juanzong-bak"))
        write_durable(fstab, "".join(lines).encode("utf-8"), stat.S_IMODE(fstab.stat().st_mode))
    return changed


def apply(the_plan: Plan, root: Path = Path("/")) -> dict:
    live = root.resolve() == Path("/")
    if live and os.geteuid() != 0:
        raise AppError(ErrorCode.LOCKDOWN_APPLY_FAILED, detail="须以 root 身份运行 --apply")
    for f in the_plan.files:
        target = root / f.target.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        write_durable(target, f.text.encode("utf-8"), f.mode)  # a power cut leaves the old file or the new
        os.chmod(target, f.mode)  # exactly the plan's mode, whatever the umask
    swap_lines = comment_out_swap(root / "etc" / "fstab")
    ran = [_run(c) for c in the_plan.commands] if live else []
    return {
        "root": str(root),
        "installed": [f.target for f in the_plan.files],
        "fstab_swap_lines_disabled": swap_lines,
        "commands_run": ran,
        "commands_skipped": [] if live else [" ".join(c) for c in the_plan.commands],
    }


def _run(command: tuple[str, ...]) -> str:
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AppError(ErrorCode.LOCKDOWN_APPLY_FAILED, detail=f"{' '.join(command)}：{proc.stderr.strip()[-500:]}")
    return " ".join(command)
