"""Checks of the rendered profile with the tools that will run it.

- `systemd-analyze security --offline=true UNIT`: systemd's own exposure score of a
  service (0 = locked down, 10 = exposed). Every juanzong service must score ≤ 2.0.
- `nft -c -f FILE`: the kernel parses and validates the ruleset without loading it.
  As root it runs as is; otherwise inside a throw-away user + network namespace.
- udev rules: `udevadm verify` where udev has it (systemd ≥ 253). Debian 12's udevadm (252)
  has no verify, so its rule parser is run by `udevadm test` on the loopback interface inside a
  throw-away mount namespace in which the rules directories hold only the rendered files and
  /run is a fresh tmpfs: nothing of the machine's udev is read or written, no device is touched
  (none of our rules match a network interface), and every "FILE:LINE problem" it logs for
  our files fails the check.

A missing tool is reported as such (`checked: false` and why), never as a pass.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from juanzong.shared.errors import AppError, ErrorCode

MAX_EXPOSURE = 2.0
_OVERALL = re.compile(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class UnitScore:
    unit: str
    exposure: float
    open_points: tuple[str, ...]  # the ✗ lines: what still counts against the unit

    @property
    def ok(self) -> bool:
        return self.exposure <= MAX_EXPOSURE


@dataclass(frozen=True)
class CheckReport:
    scores: tuple[UnitScore, ...]
    nft_ok: bool | None  # None: nft not available here
    skipped: tuple[str, ...]
    udev_ok: bool | None = None  # None: no udevadm (or no namespace to run it in) here

    def to_dict(self) -> dict:
        return {
            "exposure": {s.unit: s.exposure for s in self.scores},
            "exposure_max": MAX_EXPOSURE,
            "nft_check": self.nft_ok,
            "udev_check": self.udev_ok,
            "skipped": list(self.skipped),
        }


def _failed(detail: str) -> AppError:
    return AppError(ErrorCode.LOCKDOWN_CHECK_FAILED, detail=detail)


def exposure(unit_file: Path) -> UnitScore:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        raise _failed("找不到 systemd-analyze")
    proc = subprocess.run(
        [tool, "security", "--offline=true", "--no-pager", str(unit_file)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SYSTEMD_COLORS": "0"},
    )
    found = _OVERALL.search(proc.stdout)
    if found is None:
        raise _failed(f"systemd-analyze 未给出 {unit_file.name} 的评分：{(proc.stderr or proc.stdout).strip()[-500:]}")
    open_points = tuple(line.strip() for line in proc.stdout.splitlines() if line.lstrip().startswith("✗"))
    return UnitScore(unit_file.name, float(found.group(1)), open_points)


def nft_check(ruleset: Path) -> None:
    tool = shutil.which("nft")
    if tool is None:
        raise _failed("找不到 nft（Debian 软件包 nftables）")
    command = [tool, "-c", "-f", str(ruleset)]
    if os.geteuid() != 0:
        command = ["unshare", "--map-root-user", "--net", *command]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise _failed(f"nft -c 拒绝了防火墙规则：{proc.stderr.strip()[-800:]}")


_VERIFY_MIN_SYSTEMD = 253
_UNRESOLVED = re.compile(r"Unknown (user|group) '")
# our files under the namespace's /etc/udev/rules.d; udevadm logs "PATH:LINE message" for each problem
_RULES_DIRS = ("/usr/lib/udev/rules.d", "/usr/local/lib/udev/rules.d", "/lib/udev/rules.d")
_NS_SCRIPT = (
    "set -e; mount --make-rprivate /; mount -t tmpfs tmpfs /run; mkdir -p /run/udev; "
    'mount --bind "$1" /etc/udev/rules.d; shift; '
    'for d in "$@"; do if [ -d "$d" ] && [ ! -L "$d" ]; then mount --bind /run/udev "$d"; fi; done; '
    "exec udevadm test --action=add /sys/class/net/lo"
)


def udevadm_version() -> int | None:
    tool = shutil.which("udevadm")
    if tool is None:
        return None
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    return int(out.split()[0]) if out[:1].isdigit() else None


def udev_problems(rules_dir: Path) -> list[str]:
    """What udev's own parser says about the rules files in `rules_dir` (empty: all accepted)."""
    names = sorted(p.name for p in rules_dir.glob("*.rules"))
    version = udevadm_version()
    if version is None:
        raise _failed("找不到 udevadm")
    if version >= _VERIFY_MIN_SYSTEMD:
        proc = subprocess.run(
            ["udevadm", "verify", "--resolve-names=never", *(str(rules_dir / n) for n in names)], capture_output=True, text=True, timeout=60
        )
        return [] if proc.returncode == 0 else [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
    command = ["unshare", "--mount", "--fork", "sh", "-c", _NS_SCRIPT, "sh", str(rules_dir.resolve()), *_RULES_DIRS]
    if os.geteuid() != 0:
        command[1:1] = ["--map-root-user"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60)
    output = proc.stdout + proc.stderr
    if "Reading rules file" not in output:
        raise _failed(f"udevadm test 未能读取规则：{output.strip()[-500:]}")
    ours = tuple(f"/etc/udev/rules.d/{n}:" for n in names)
    # the service user's group exists once `systemd-sysusers` ran (the plan's first command), not here
    return [line for line in output.splitlines() if line.startswith(ours) and not _UNRESOLVED.search(line)]


def udev_check(rules_dir: Path) -> None:
    problems = udev_problems(rules_dir)
    if problems:
        raise _failed("udev 规则有误：" + "；".join(problems[:10]))


def run(units: list[Path], ruleset: Path, rules_dir: Path | None = None) -> CheckReport:
    skipped = []
    scores: list[UnitScore] = []
    if shutil.which("systemd-analyze"):
        scores = [exposure(u) for u in units]
    else:
        skipped.append("systemd-analyze 不可用：未评估服务暴露分数")
    nft_ok = None
    if shutil.which("nft"):
        nft_check(ruleset)
        nft_ok = True
    else:
        skipped.append("nft 不可用：未检查防火墙规则（apt-get install nftables）")
    udev_ok = None
    if rules_dir is not None and shutil.which("udevadm") and shutil.which("unshare"):
        udev_check(rules_dir)
        udev_ok = True
    elif rules_dir is not None:
        skipped.append("udevadm 不可用：未检查 udev 规则")
    bad = [s for s in scores if not s.ok]
    if bad:
        raise _failed("；".join(f"{s.unit} 暴露分数 {s.exposure} 高于 {MAX_EXPOSURE}" for s in bad))
    return CheckReport(tuple(scores), nft_ok, tuple(skipped), udev_ok)
