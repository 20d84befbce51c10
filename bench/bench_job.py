"""Live-bot job vs an empty parameterized notebook, each a whole `workbench run`.

    python bench/bench_job.py [--rounds 3] [--root PATH]

Makes a throwaway home (SQLite, the synthetic sample market, one active dry-run bot),
then alternates `workbench run EMPTY -p x 1` and `workbench run
notebooks/jobs/live_bot.ipynb -p bot_id B -p as_of T` (paper, stored candles, a later
bar each round) and prints the medians: wall time, CPU time of the whole process tree,
the ratio live / empty, and where each job's time goes, read from its run record and its
output notebook's papermill timings. The kernel starts as the run begins and loads the
tick (its warm-up) while the CLI records the run and loads papermill, so the two cores
work at once: on an idle machine the wall time is below the CPU time. Last, the floor:
the steps of a cold live-bot run that follow one another whatever the runner does (the
console up to the kernel's start, a fresh kernel, the tick's imports and compiled engine),
each measured
alone. ``--root`` runs another checkout (its package and its notebooks), e.g.
``--root /work/old`` for the code before a change.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

EMPTY = {
    "cells": [
        {
            "cell_type": "code",
            "metadata": {"tags": ["parameters"]},
            "source": "x = None",
            "outputs": [],
            "execution_count": None,
        },
        {
            "cell_type": "code",
            "metadata": {},
            "source": "x",
            "outputs": [],
            "execution_count": None,
        },
    ],
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}

SETUP = """
import json, sys
import workbench as wb
wb.init(sample=True)
frame = wb.candles()
bot = wb.create_bot(name="bench-job", **frame.attrs["market"], is_active=True, dry_run=True)
moments = [t.isoformat() for t in frame.index[-int(sys.argv[1]) - 1 :]]
print(json.dumps({"bot": bot, "moments": moments}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    root = args.root.resolve()
    cli = str(Path(sys.executable).with_name("workbench"))
    with tempfile.TemporaryDirectory(prefix="bench-job-") as tmp:
        env = dict(os.environ, WORKBENCH_HOME=str(Path(tmp) / "home"), PYTHONPATH=str(root))
        env.pop("WORKBENCH_DATABASE_URL", None)
        setup = subprocess.run(
            [sys.executable, "-c", SETUP, str(args.rounds)],
            env=env,
            cwd=tmp,  # not this checkout: `python -c` imports from the current folder first
            check=True,
            capture_output=True,
            text=True,
        )
        made = json.loads(setup.stdout.strip().splitlines()[-1])
        empty = Path(tmp) / "empty.ipynb"
        empty.write_text(json.dumps(EMPTY))
        live = root / "notebooks" / "jobs" / "live_bot.ipynb"
        # Once untimed: the first kernel and numba cache use on this home and checkout.
        _run(cli, [str(empty), "-p", "x", "1"], env)
        _run(
            cli,
            [str(live), "-p", "bot_id", str(made["bot"]), "-p", "as_of", made["moments"][0]],
            env,
        )
        results: dict[str, list[tuple[float, float, dict[str, float]]]] = {"empty": [], "live": []}
        for moment in made["moments"][1:]:
            results["empty"].append(_run(cli, [str(empty), "-p", "x", "1"], env))
            params = ["-p", "bot_id", str(made["bot"]), "-p", "as_of", moment]
            results["live"].append(_run(cli, [str(live), *params], env))
        floor = _floor(env, args.rounds)
    load = os.getloadavg()[0]
    print(f"root {root}; {args.rounds} rounds; load average {load:.1f} on {os.cpu_count()} cores")
    wall = {k: statistics.median(r[0] for r in v) for k, v in results.items()}
    cpu = {k: statistics.median(r[1] for r in v) for k, v in results.items()}
    for name in ("empty", "live"):
        print(f"{name:>6} job: wall {wall[name]:6.2f} s (median)   CPU {cpu[name]:6.2f} s")
    print(
        f"ratio live/empty: wall {wall['live'] / wall['empty']:.2f}x   CPU "
        f"{cpu['live'] / cpu['empty']:.2f}x   (target: 1.5x; live under 2.5 s idle)"
    )
    for name in ("empty", "live"):
        steps = results[name][0][2].keys()
        print(f"breakdown of the {name} job (median wall seconds):")
        for step in steps:
            seconds = statistics.median(r[2].get(step, 0.0) for r in results[name])
            print(f"  {step:<48} {seconds:6.2f}")
    print("what a cold live-bot run cannot avoid, one step after another (median seconds):")
    for step, seconds in floor.items():
        print(f"  {step:<48} {seconds:6.2f}")
    print(f"  {'sum: the floor of a cold live-bot run':<48} {sum(floor.values()):6.2f}")


# What `workbench run` loads before it starts the run's kernel (workbench.console).
BEFORE_KERNEL = (
    "import workbench.console, workbench.jobs.kernel, workbench.settings, jupyter_client"
)
FLOOR_KERNEL = """
import json, statistics, sys, time
from jupyter_client.manager import start_new_kernel
ready, warm = [], []
for _ in range(int(sys.argv[1])):
    start = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3")
    ready.append(time.perf_counter() - start)
    start = time.perf_counter()
    kc.execute_interactive("from workbench.bots import job; job.warm_up()", timeout=120)
    warm.append(time.perf_counter() - start)
    kc.stop_channels()
    km.shutdown_kernel(now=True)
print(json.dumps([statistics.median(ready), statistics.median(warm)]))
"""


def _floor(env: dict[str, str], rounds: int) -> dict[str, float]:
    """The steps of a cold live-bot run that follow one another whatever the runner does:
    the console's start up to the kernel's, a fresh kernel's start and the tick's imports
    and compiled engine in it (the tick itself, the output and the exit come on top)."""
    cli = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", BEFORE_KERNEL], env=env, check=True)
        cli.append(time.perf_counter() - start)
    done = subprocess.run(
        [sys.executable, "-c", FLOOR_KERNEL, str(rounds)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    ready, warm = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "python, and what the console loads to start it": statistics.median(cli),
        "a fresh kernel, to its first answer": ready,
        "the tick's imports and compiled engine (warm_up)": warm,
    }


def _run(cli: str, args: list[str], env: dict[str, str]) -> tuple[float, float, dict[str, float]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    done = subprocess.run([cli, "run", *args, "--json"], env=env, capture_output=True, text=True)
    end = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"workbench run {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return end - start, cpu, _breakdown(json.loads(done.stdout), start, end)


def _breakdown(run: dict[str, object], start: float, end: float) -> dict[str, float]:
    """Where the time of one `workbench run` went, from its record and output notebook."""
    nb = json.loads(Path(str(run["output_path"])).read_text())
    pm = nb["metadata"]["papermill"]
    cells = [c for c in nb["cells"] if c["metadata"].get("papermill", {}).get("start_time")]
    started = _ts(str(run["started_at"]))
    pm_start, pm_end = _ts(pm["start_time"]), _ts(pm["end_time"])
    first = _ts(cells[0]["metadata"]["papermill"]["start_time"])
    steps = {
        "CLI start, checks, run recorded": started - start,
        "papermill loaded (the kernel starting meanwhile)": pm_start - started,
        "kernel ready (its start and warm-up, the rest)": first - pm_start,
    }
    for cell in cells:
        meta = cell["metadata"]["papermill"]
        source = "".join(cell["source"]).strip().splitlines() or [""]
        if cell["cell_type"] == "code" and meta.get("duration", 0) > 0.05:
            steps[f"cell: {source[0][:36]}"] = meta["duration"]
    counted = sum(v for k, v in steps.items() if k.startswith("cell:"))
    steps["other cells, output writes, kernel stop"] = pm_end - first - counted
    steps["finish: HTML export, scrub, record end"] = _ts(str(run["finished_at"])) - pm_end
    steps["CLI exit"] = end - _ts(str(run["finished_at"]))
    return steps


def _ts(text: str) -> float:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:  # the run record's times are UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


if __name__ == "__main__":
    main()
