"""Lint 1,000 generated flows of about 20 nodes: ivrflow against check-jsonschema, same files, same run.

ivrflow does more (strict YAML, positions, semantic rules); the target is that it takes at most
half as long as check-jsonschema validating the same files against the same schema.

    python bench/lint_speed.py [--files 1000] [--nodes 20]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from flowgen import flow_text

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, check=False)
    return time.perf_counter() - start, result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs of each tool")
    args = parser.parse_args()
    baseline = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which(
        "check-jsonschema"
    )
    if baseline is None:
        sys.exit("check-jsonschema is not installed: pip install -e '.[bench]'")
    with tempfile.TemporaryDirectory() as folder:
        files = []
        for i in range(args.files):
            path = Path(folder) / f"flow-{i:04d}.yaml"
            path.write_text(flow_text(f"flow-{i:04d}", args.nodes, seed=i))
            files.append(str(path))
        ours_cmd = [sys.executable, "-m", "ivrflow", "lint", "--format", "json", folder]
        theirs_cmd = [baseline, "--schemafile", str(ROOT / "schemas" / "flow.schema.json"), *files]
        ours, theirs = [], []
        for _ in range(args.rounds):  # interleaved, so both see the same machine load
            seconds, code = timed(ours_cmd)
            assert code == 0, "ivrflow found problems in generated flows"
            ours.append(seconds)
            seconds, code = timed(theirs_cmd)
            assert code == 0, "check-jsonschema rejected generated flows"
            theirs.append(seconds)
    best_ours, best_theirs = min(ours), min(theirs)
    print(f"files: {args.files} of about {args.nodes} nodes each; best of {args.rounds} runs")
    print(f"ivrflow lint:      {best_ours:6.2f} s")
    print(f"check-jsonschema:  {best_theirs:6.2f} s")
    print(f"ratio ivrflow / check-jsonschema: {best_ours / best_theirs:.2f} (target: at most 0.50)")


if __name__ == "__main__":
    main()
