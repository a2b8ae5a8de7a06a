"""The layout holds: what ships, what the web apps load, where the tooling lives, and that the
installed names (`juanzong.edge`, `juanzong.central`, `juanzong.shared`) never depend on the
current directory.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {
    "edge": "juanzong.edge",
    "central": "juanzong.central",
    "shared": "juanzong.shared",
    "firmware_profiles": "juanzong.firmware_profiles",
}
CONSOLE_SCRIPT = Path(sys.executable).parent / "juanzong"


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]


def _package_folders() -> dict[str, Path]:
    """Every folder with an __init__.py under the product's folders → its installed name."""
    out = {}
    for folder, name in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            out[".".join((name, *rel.parts))] = init.parent
    return out


def _listed() -> dict[str, Path]:
    """pyproject's packages → their folders, through the package-dir mapping."""
    mapping = {name: ROOT / folder for name, folder in _setuptools()["package-dir"].items()}
    out = {}
    for name in _setuptools()["packages"]:
        top = max((m for m in mapping if name == m or name.startswith(m + ".")), key=len)
        out[name] = mapping[top].joinpath(*name[len(top) :].split(".")[1:])
    return out


def test_every_package_folder_is_listed_in_pyproject_and_every_listed_package_exists() -> None:
    listed = _listed()
    assert sorted(set(_package_folders()) - set(listed)) == [], "add these to [tool.setuptools] packages"
    assert sorted(name for name, folder in listed.items() if not folder.is_dir()) == [], "listed but no such folder"


def test_every_file_the_code_loads_is_package_data() -> None:
    """Templates, static files, data and profile TOML, the migration template: each non-.py file
    under the product's folders is matched by the package-data globs of the listed package that
    holds it (so a wheel carries it)."""
    data = _setuptools()["package-data"]
    packages = _listed()
    uncovered = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            owner = max((name for name, d in packages.items() if path.is_relative_to(d)), key=lambda n: len(packages[n].parts))
            shipped = {p for pattern in data.get(owner, []) for p in packages[owner].glob(pattern)}
            if path not in shipped:
                uncovered.append(str(path.relative_to(ROOT)))
    assert uncovered == []


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_the_appliance_never_imports_its_tooling() -> None:
    """Benchmarks, demo, simulated scanner and page generator live in edge/tooling/; the
    appliance's own modules (and central, shared) do not reach into it. The CLI only names
    the tooling's commands, loaded when they are run."""
    offenders = []
    for folder in ("edge", "central", "shared"):
        for path in (ROOT / folder).rglob("*.py"):
            if "tooling" in path.relative_to(ROOT).parts:
                continue
            if any(name.startswith("juanzong.edge.tooling") for name in _imports(path)):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_each_value_set_of_a_page_is_defined_once() -> None:
    """PageRole, Side, QC codes and severities: one definition (shared/manifest.py), used by both sides."""
    defined: dict[str, list[str]] = {}
    for folder in ("edge", "central", "shared"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.ClassDef) and node.name in ("PageRole", "Side", "QcCode", "Severity"):
                    defined.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    assert defined == {name: ["shared/manifest.py"] for name in ("PageRole", "Side", "QcCode", "Severity")}


# The stage modules that compute with numpy; the web apps take the stages' value types from the
# stage contract (edge/ingest/context.py) and never load these to start.
NUMPY_STAGES = (
    "juanzong.edge.ingest.analysis",
    "juanzong.edge.ingest.qc",
    "juanzong.edge.ingest.barcode",
    "juanzong.edge.ingest.raster",
    "juanzong.edge.ingest.decode",
    "juanzong.edge.ingest.pipeline",
    "juanzong.edge.coversheet",
)

_WEB_IMPORTS = """
import importlib, json, pkgutil, sys
sys.modules["numpy"] = None  # any import of numpy now fails (sqlite_utils only tries it, optionally)
import juanzong.edge.ingest.context
import juanzong.edge.web as web
for mod in pkgutil.iter_modules(web.__path__):
    importlib.import_module("juanzong.edge.web." + mod.name)
import juanzong.central.office.app
print(json.dumps(sorted(m for m in sys.modules if m.startswith("juanzong"))))
"""


def test_the_web_apps_and_the_stage_contract_load_without_numpy() -> None:
    """In a fresh interpreter with numpy made unimportable, the kiosk (every screen, the QC
    station included), the archive office app and the stage contract import; none of the
    numpy stages is loaded. (sqlite-utils imports numpy when it is installed, only for
    optional column types, so this blocks numpy rather than looking for it in sys.modules.)"""
    out = subprocess.run([sys.executable, "-P", "-c", _WEB_IMPORTS], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = set(json.loads(out.stdout))
    assert "juanzong.edge.web.station" in loaded and "juanzong.edge.ingest.context" in loaded
    assert sorted(loaded.intersection(NUMPY_STAGES)) == []


def _decoy_folders(root: Path) -> Path:
    """A directory a new user might work in: folders named like the product's, which would
    shadow top-level `edge`, `central`, `shared` packages if the product used those names."""
    for name in ("central", "edge", "shared"):
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text(f"raise ImportError('the {name} folder in the current directory was imported')\n")
    return root


def _run(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(CONSOLE_SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_both_sides_start_from_a_directory_holding_central_edge_and_shared_folders(tmp_path: Path) -> None:
    """`central init` and an appliance paired to it (`edge init --central`, which reads
    central's identity: CentralKeys) through the console script, run from such a directory."""
    cwd = _decoy_folders(tmp_path / "work")
    central = _run(cwd, "central", "init", "--home", str(tmp_path / "central"))
    assert central.returncode == 0, central.stderr[-2000:]
    identity = tmp_path / "central" / "central-identity.json"
    assert identity.is_file()
    edge = _run(cwd, "edge", "init", "--home", str(tmp_path / "edge"), "--profile", "simulated", "--central", str(identity))
    assert edge.returncode == 0, edge.stderr[-2000:]
    status = _run(cwd, "edge", "status", "--home", str(tmp_path / "edge"), "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["appliance_id"], status.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.e2e
def test_juanzong_demo_runs_from_a_directory_holding_central_edge_and_shared_folders(tmp_path: Path) -> None:
    """The whole demo (central and appliance processes, scanner, sync, documents), as a new user
    would start it, from a directory with folders named central, edge and shared."""
    cwd = _decoy_folders(tmp_path / "work")
    demo = _run(cwd, "demo", timeout=1200)
    assert demo.returncode == 0, (demo.stdout[-2000:], demo.stderr[-2000:])
    assert "0 missing, 0 duplicate" in demo.stdout


def test_one_durable_write_helper() -> None:
    """fsync, exclusive creates and renames into place live in shared/durable.py, for every file the
    product keeps. The exceptions: the watcher's claim (a rename within the hot folder's filesystem,
    then its directory synced through durable.fsync_dir) and the tooling in edge/tooling/ (the
    simulated scanner imitates a scanner driver; benchmarks hand scratch files between processes)."""
    allowed = {"shared/durable.py", "edge/watch/watcher.py"}
    pattern = re.compile(r"os\.fsync\(|O_EXCL|os\.replace\(|os\.rename\(|os\.link\(|\.rename\(|open\([^)]*[\"']x")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("edge", "central", "shared")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in allowed and "tooling" not in path.relative_to(ROOT).parts
        for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert offenders == []
