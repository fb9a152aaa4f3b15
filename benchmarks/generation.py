"""How long `dpgen diff` takes: the MLP example, a generated 2,000-line module, and start-up.

Run: `python benchmarks/generation.py`. Prints medians of several runs of the installed
`dpgen` command (a fresh process each time, as a user or CI runs it).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINES = 2000


def straight_line_module(lines: int = LINES) -> str:
    """A module of straight-line NumPy functions, `lines` lines long in all."""
    body_lines = 18
    out = ["import numpy as np", ""]
    k = 0
    while len(out) < lines - (body_lines + 3):
        out += [f"def layer_{k}(x, W, b, y):"]
        out += ["    h = np.tanh(x @ W + b)"]
        for j in range(body_lines - 4):
            op = [
                "np.sin(h) * 0.5 + h",
                "np.exp(-h ** 2) + np.log1p(h * h)",
                "np.maximum(h, 0.1) - np.sqrt(h * h + 1.0)",
            ][j % 3]
            out += [f"    h = {op}"]
        out += ["    err = np.sum(h, axis=1) - y", "    return np.mean(err ** 2)", ""]
        k += 1
    while len(out) < lines:
        out.append("")
    return "\n".join(out[:lines]) + "\n"


def median_seconds(command: list[str], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    dpgen = [sys.executable, "-m", "dpgen"]
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.py"
        big.write_text(straight_line_module())
        rows = [
            ("dpgen --version", median_seconds([*dpgen, "--version"])),
            (
                "dpgen diff examples/mlp/model.py",
                median_seconds(
                    [*dpgen, "diff", str(ROOT / "examples/mlp/model.py"), "-o", str(Path(tmp) / "mlp_grad.py")]
                ),
            ),
            (
                f"dpgen diff ({LINES}-line module)",
                median_seconds([*dpgen, "diff", str(big), "-o", str(Path(tmp) / "big_grad.py")], repeats=3),
            ),
        ]
    width = max(len(r[0]) for r in rows)
    print(f"{'command':{width}}  median")
    for name, seconds in rows:
        print(f"{name:{width}}  {seconds:6.3f} s")


if __name__ == "__main__":
    main()
