"""Suite benchmark: `praktor up` on a fresh data directory → every service ready.

Measures, over a few runs: seconds until all eight services answer /readyz
(cold: first run with initdb and key generation; warm: same data directory
again), the time for a killed service to be ready again, and each service's
resident memory (RSS) once idle. Writes bench/results/suite_startup.json.

    uv run --no-sync python bench/suite_startup.py [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.harness import Suite

RESULTS = Path(__file__).parent / "results" / "suite_startup.json"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def router_replaced(suite: Suite, old_pid: int) -> bool:
    router = suite.services()["router"]
    return bool(router["ready"] and router["pid"] != old_pid)


def timed_start(suite: Suite) -> float:
    t0 = time.perf_counter()
    suite.start()
    return round(time.perf_counter() - t0, 2)


def run(runs: int) -> dict[str, Any]:
    cold: list[float] = []
    warm: list[float] = []
    restart: list[float] = []
    rss: dict[str, float] = {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            suite = Suite.create(Path(tmp))
            cold.append(timed_start(suite))
            services = suite.services()
            time.sleep(3)
            rss = {name: rss_mib(svc["pid"]) for name, svc in services.items()}
            before = services["router"]["pid"]
            t0 = time.perf_counter()
            os.kill(before, signal.SIGKILL)
            suite.wait_for(partial(router_replaced, suite, before), 60, "router back")
            restart.append(round(time.perf_counter() - t0, 2))
            suite.stop()
            again = Suite(data_dir=suite.data_dir, config_path=suite.config_path, env=suite.env)
            warm.append(timed_start(again))
            again.stop()
    return {
        "benchmark": "suite_startup",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": runs,
        "cold_up_to_all_ready_s": cold,
        "warm_up_to_all_ready_s": warm,
        "killed_service_ready_again_s": restart,
        "idle_rss_mib": rss,
        "idle_rss_total_mib": round(sum(rss.values()), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    result = run(args.runs)
    print(json.dumps(result, indent=2))
    if not args.no_save:
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
