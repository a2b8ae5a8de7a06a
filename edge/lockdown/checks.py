"""Checks of the rendered profile with the tools that will run it.

- `systemd-analyze security --offline=true UNIT`: systemd's own exposure score of a
  service (0 = locked down, 10 = exposed). Every juanzong service must score ≤ 2.0.
- `nft -c -f FILE`: the kernel parses and validates the ruleset without loading it.
  As root it runs as is; otherwise inside a throw-away user + network namespace.

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

    def to_dict(self) -> dict:
        return {
            "exposure": {s.unit: s.exposure for s in self.scores},
            "exposure_max": MAX_EXPOSURE,
            "nft_check": self.nft_ok,
            "skipped": list(self.skipped),
        }


def _failed(detail: str) -> AppError:
    return AppError(ErrorCode.LOCKDOWN_CHECK_FAILED, detail=detail)


def exposure(unit_file: Path) -> UnitScore:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        raise _failed("找不到 systemd-analyze")
    proc = subprocess.run([tool, "security", "--offline=true", "--no-pager", str(unit_file)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "SYSTEMD_COLORS": "0"})
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


def run(units: list[Path], ruleset: Path) -> CheckReport:
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
    bad = [s for s in scores if not s.ok]
    if bad:
        raise _failed("；".join(f"{s.unit} 暴露分数 {s.exposure} 高于 {MAX_EXPOSURE}" for s in bad))
    return CheckReport(tuple(scores), nft_ok, tuple(skipped))
