"""Time `dpgen diff` on deep and large inputs (not part of the test suite).

    python benchmarks/hostile_sizes.py                 # every shape at its default sizes
    python benchmarks/hostile_sizes.py statements 10000

Each case writes a one-function module, runs the installed pipeline in a subprocess (a fresh
interpreter, as users run it) and prints the exit code, the wall time, the source's line
count and the time per 1,000 source lines (the budget is 10 s). Deep expressions are
refused above `dpgen.deep.MAX_EXPRESSION_DEPTH`; tests/test_hostile_inputs.py checks small
sizes of the same shapes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = "import numpy as np\n\n\ndef f(x):\n"

SHAPES = {
    "sum": (lambda n: "    return " + " + ".join(["x"] * n) + "\n", [300, 1000, 10_000]),
    "transposes": (lambda n: "    return np.sum(x" + ".T" * n + ")\n", [500, 10_000]),
    "nots": (lambda n: "    if " + "not " * n + "(x[0] > 0):\n        return x\n    return -x\n", [500, 10_000]),
    "ands": (
        lambda n: "    if " + " and ".join(["x[0] > 0"] * n) + ":\n        return x\n    return -x\n",
        [500, 2_000],
    ),
    "nested-calls": (lambda n: "    return " + "np.sin(" * n + "x" + ")" * n + "\n", [150]),
    "one-megabyte-line": (lambda n: "    return " + " + ".join(["x * 1.5"] * n) + "\n", [100_000]),
    "elif": (
        lambda n: "    if x > 0:\n        y = x\n"
        + "".join(f"    elif x > -{k}:\n        y = x * {k}.0\n" for k in range(1, n))
        + "    else:\n        y = -x\n    return y\n",
        [300, 1_000],
    ),
    "stack": (lambda n: "    return np.sum(np.stack([" + ", ".join(["x * 2.0"] * n) + "]))\n", [20_000]),
    "statements": (
        lambda n: "    y = x\n" + "    y = y * 1.0001 + 0.5\n" * n + "    return y\n",
        [1_000, 3_000, 10_000],
    ),
}


def measure(shape: str, n: int) -> None:
    make, _ = SHAPES[shape]
    source = HEADER + make(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.py"
        path.write_text(source, encoding="utf-8")
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "dpgen", "diff", str(path), "-o", str(Path(tmp) / "out.py")],
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
    lines = source.count("\n")
    first = (done.stderr.splitlines() or [""])[0].replace(str(path), "model.py")[:100]
    print(
        f"{shape:18} {n:>7} exit {done.returncode:>2} {seconds:7.1f} s {lines:>6} lines {1000 * seconds / lines:8.1f} s/1000 lines  {first}",
        flush=True,
    )


def main(argv: list[str]) -> None:
    if argv:
        measure(argv[0], int(argv[1]))
        return
    for shape, (_, sizes) in SHAPES.items():
        for n in sizes:
            measure(shape, n)


if __name__ == "__main__":
    main(sys.argv[1:])
