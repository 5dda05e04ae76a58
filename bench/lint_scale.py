"""Lint one flow of 10,000 nodes and one of 20,000: the larger should take at most 2.3 times as long
(no rule is quadratic). Times are in-process, best of several rounds.

    python bench/lint_scale.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "engine"))
from flowgen import flow_text
from ivrflow.language.loader import check_bytes


def best_time(data: bytes, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        checked = check_bytes(data, "big.yaml")
        best = min(best, time.perf_counter() - start)
        assert checked.ok and not checked.diagnostics, checked.diagnostics[:3]
    return best


def main() -> None:
    small = flow_text("big", 10_000).encode()
    large = flow_text("big", 20_000).encode()
    t_small, t_large = best_time(small), best_time(large)
    print(f"10,000 nodes: {t_small:.3f} s")
    print(f"20,000 nodes: {t_large:.3f} s")
    print(f"ratio 20k / 10k: {t_large / t_small:.2f} (target: at most 2.30)")


if __name__ == "__main__":
    main()
