"""Steps per second of the interpreter's `step()` in one process, on a 10-node flow and on a
10,000-node flow (generated, of the same kinds of nodes): the larger flow should step about as
fast, as `step()` looks up the one node it is at, never the whole flow.

    python bench/step_speed.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "engine"))
from flowgen import flow_text
from ivrflow.calls.events import CallStarted, Event, Speak, SpeakDone
from ivrflow.calls.interpreter import new_call, step
from ivrflow.language.loader import check_bytes
from ivrflow.language.model import Flow

STEPS = 200_000


def steps_per_second(flow: Flow, seed: int = 1) -> float:
    """Random callers through the flow, call after call, until STEPS steps have run."""
    keys = random.Random(seed)
    done = 0
    began = time.perf_counter()
    while done < STEPS:
        state = new_call(flow)
        event: Event = CallStarted({})
        for _ in range(200):
            state, action = step(flow, state, event)
            done += 1
            if not isinstance(action, Speak):
                break
            event = SpeakDone(keys.choice("0123456789 ").strip() if action.collect else "")
    return done / (time.perf_counter() - began)


def main() -> None:
    small = check_bytes(flow_text("small", 10).encode(), "small.yaml").flow
    large = check_bytes(flow_text("large", 10_000).encode(), "large.yaml").flow
    assert small is not None and large is not None
    rates = {
        name: max(steps_per_second(flow) for _ in range(3))
        for name, flow in (("10 nodes", small), ("10,000 nodes", large))
    }
    for name, rate in rates.items():
        print(f"step() on {name}: {rate:,.0f} steps/s")
    print(f"ratio 10,000 / 10 nodes: {rates['10,000 nodes'] / rates['10 nodes']:.2f} (target: close to 1)")


if __name__ == "__main__":
    main()
