"""The package as pip builds and installs it, away from the source tree.

A copy of the project is built into a wheel by pip, with the backend pyproject.toml asks for
(`--no-build-isolation` uses this environment's setuptools, so the build needs no network), and
the build must print no deprecation warning. The wheel is then installed into a folder of its own,
and `prefixgate migrate` and `prefixgate serve` run from that install: the API docs and every asset
they name must be served, and so must the dashboard's pages and static files, so nothing depends on
files that only the source tree has.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.browser.pages import asset_urls
from tests.procserver import EXE, ProcServer

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@dataclass
class Built:
    wheel: Path
    output: str  # everything pip and the build backend printed


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    work = tmp_path_factory.mktemp("build")
    project = work / "project"  # a copy, so the build leaves no build/ or egg-info in the tree
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-v", "."]
    run = subprocess.run(
        [*cmd, "-w", str(work / "dist")], cwd=project, capture_output=True, text=True, timeout=300, check=False
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    (wheel,) = (work / "dist").glob("prefixgate-*.whl")
    return Built(wheel, output)


def test_build_prints_no_deprecation_warning(built: Built) -> None:
    flagged = [line for line in built.output.splitlines() if "deprecat" in line.lower()]
    assert flagged == [], "\n".join(flagged)


def test_wheel_metadata(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as whl:
        names = set(whl.namelist())
        (metadata,) = (n for n in names if n.endswith(".dist-info/METADATA"))
        fields = whl.read(metadata).decode().split("\n\n", 1)[0].splitlines()
    assert "License-Expression: LicenseRef-Proprietary" in fields
    assert not any(f.startswith("Classifier: License ::") for f in fields), fields
    assert any(f.startswith("Requires-Dist: fastapi-offline") for f in fields), "the docs' assets come from it"
    assert {"prefixgate/py.typed", "prefixgate/adapters/db/migrations/script.py.mako"} <= names
    assert any(n.startswith("prefixgate/adapters/db/migrations/versions/0001_") for n in names)


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment that runs prefixgate from the installed wheel (dependencies from this venv)."""
    target = tmp_path_factory.mktemp("site")
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target), str(built.wheel)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return {**os.environ, "PYTHONPATH": str(target)}


def test_installed_wheel_serves_the_docs_and_their_assets(
    installed: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    where = subprocess.run(
        [sys.executable, "-c", "import prefixgate; print(prefixgate.__file__)"],
        env=installed,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(installed["PYTHONPATH"]), f"prefixgate came from {where}, not the installed wheel"
    workdir = tmp_path_factory.mktemp("serve")
    url = f"sqlite:///{workdir}/installed.db"
    subprocess.run([EXE, "migrate", "--database-url", url], env=installed, cwd=workdir, check=True, timeout=120)
    server = ProcServer(url, workdir, env={"PYTHONPATH": installed["PYTHONPATH"]}).start()
    try:
        for page in ("docs", "redoc"):
            r = httpx.get(f"{server.api}/{page}", timeout=30)
            assert r.status_code == 200, r.text
            urls = asset_urls(r.text)
            assert any(u.endswith(".js") for u in urls), urls
            for asset in urls:
                got = httpx.get(f"{server.base}{asset}", timeout=30)
                assert got.status_code == 200 and len(got.content) > 1000, (asset, got.status_code)
        assert httpx.get(f"{server.api}/openapi.json", timeout=30).json()["info"]["title"] == "prefixgate"
        login = httpx.get(f"{server.base}/login", timeout=30)  # the dashboard's templates came with the wheel
        assert login.status_code == 200 and "<h1>Sign in</h1>" in login.text, login.text[:500]
        for asset in (u for u in asset_urls(login.text) if u.startswith("/static/")):
            got = httpx.get(f"{server.base}{asset}", timeout=30)
            assert got.status_code == 200 and len(got.content) > 200, (asset, got.status_code)
    finally:
        server.stop()
