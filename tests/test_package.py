"""`pip install .` gives a working `ivrflow` with its schemas: checked on a real wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import ivrflow
from conftest import ROOT

STUDIO_ASSETS = ("index.html", "studio.css", "studio.js", "mermaid.min.js", "mermaid.LICENSE", "mermaid.VERSION")


def test_public_api_is_sorted_and_importable() -> None:
    assert ivrflow.__all__ == sorted(ivrflow.__all__)
    for name in ivrflow.__all__:
        assert hasattr(ivrflow, name), name


def test_wheel_carries_schemas_and_commands(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("ivrflow-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
        schema = archive.read("ivrflow/schemas/flow.schema.json")
        studio = {name: archive.read(f"ivrflow/studio/static/{name}") for name in STUDIO_ASSETS}
    assert schema == (ROOT / "schemas" / "flow.schema.json").read_bytes()
    assert {"ivrflow/__main__.py", "ivrflow/cli/__init__.py", "ivrflow/py.typed"} <= names
    assert not any(n.startswith("engine/") for n in names)
    assert "ivrflow = ivrflow.cli:main" in entry_points
    # The studio works offline after `pip install`: its page, styles, script and Mermaid (with its licence) ship inside.
    for name, data in studio.items():
        assert data == (ROOT / "engine" / "ivrflow" / "studio" / "static" / name).read_bytes(), name
