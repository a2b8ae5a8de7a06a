"""`edge lockdown`: gather → render → write → check (→ apply), in that order."""

from __future__ import annotations

from pathlib import Path

from juanzong.edge.config import EdgeSettings
from juanzong.edge.lockdown import checks, install, nftables, systemd, udev
from juanzong.edge.lockdown.inputs import LockdownInputs, gather


def render_all(inp: LockdownInputs) -> list[systemd.RenderedFile]:
    return [*systemd.render(inp), nftables.render(inp), *udev.render(inp)]


def lockdown(settings: EdgeSettings, out: Path, *, apply: bool = False, root: Path = Path("/"), executable: Path | None = None) -> dict:
    inp = gather(settings, executable=executable)
    files = render_all(inp)
    the_plan = install.plan(inp, files)
    out.mkdir(parents=True, exist_ok=True)
    install.write(out, the_plan, {"appliance_id": inp.appliance_id, "warnings": inp.warnings()})
    units = [out / f.target.lstrip("/") for f in systemd.service_units(files)]
    report = checks.run(units, out / nftables.TARGET.lstrip("/"), out / udev.RULES_DIR.lstrip("/"))
    result = {"out": str(out), **the_plan.to_dict(), **report.to_dict(), "warnings": inp.warnings()}
    if apply:
        result["applied"] = install.apply(the_plan, root)
    return result
