"""Random programs at scale: dpgen in reverse, forward and HVP mode against finite differences.

    PYTHONPATH=src python benchmarks/fuzz.py -n 10000 --jobs 2 --out /tmp/fuzz-failures
    PYTHONPATH=src python benchmarks/fuzz.py --seed 0 --index 123 --show   # one program again

Program i of seed s is drawn from ``random.Random(f"{s}:{i}")`` with the grammar of
``tests/support/program_grammar.py`` (every feature on), so ``--seed s --index i`` reproduces it
exactly. Each program is generated once per mode and classified:

* pass     -- values equal the source's; <vjp(u), v>, jvp(v) and <w, H v> equal central
              differences of the source along random directions (one direction each, so
              a program costs a handful of evaluations, not one per element);
* refused  -- a SourceErrors whose every diagnostic is `model.py:line:col: error: ...`
              inside the file (`bad-refusal` otherwise);
* wrong    -- a value or derivative differs;
* internal -- any other exception inside dpgen;
* crash    -- the generated module fails to compile, import or run;
* timeout  -- the program (all modes) took more than --timeout seconds;
* skipped  -- not a fair test: the value is not finite, or a decision (`if`/`while` test,
              np.max/np.maximum choice) lies near a flip, so a difference would straddle it;
* n/a      -- HVP of a program returning an array.

Failures are written to --out as repro files (source, arguments, what went wrong), after
a greedy line-deleting minimization that keeps the same failure. Not part of the test run.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import numpy as np  # noqa: E402

from support import program_grammar as grammar  # noqa: E402

MODES = ("reverse", "forward", "hvp")
SMALL = True  # small programs: generation (libcst parsing) is most of the time
FEATURES = set(grammar.ALL_FEATURES)  # --features can change it
FAILURES = ("wrong", "internal", "crash", "bad-refusal", "timeout")


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


def draw(seed: int, index: int, features=None) -> grammar.Program:
    if features is None:  # a random half of the features: smaller programs, every mix over a run
        chooser = grammar.RandomDrawer(f"features:{seed}:{index}")
        features = frozenset(f for f in sorted(FEATURES) if chooser.boolean()) | {"setitem", "call", "if", "for"}
    marked = grammar.draw_program(grammar.RandomDrawer(f"{seed}:{index}"), features, small=SMALL)
    rng = np.random.default_rng([seed, index])
    return grammar.Program(marked, grammar.make_args(rng, features), [seed, index, 1], features)


def modes_for(index: int, hvp_every: int) -> tuple[str, ...]:
    return MODES if hvp_every and index % hvp_every == 0 else MODES[:2]


def unformatted(format_output: bool) -> None:
    """Skip black unless asked: it only lays the code out, and takes 60 % of generation."""
    if not format_output:
        import dpgen.pipeline

        dpgen.pipeline.format_code = lambda text: text


def run_one(job) -> tuple[int, dict[str, grammar.Outcome], float]:
    seed, index, timeout, hvp_every, format_output = job
    unformatted(format_output)
    start = time.perf_counter()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    try:
        program = draw(seed, index)
        outcomes = grammar.check_modes(
            program, modes_for(index, hvp_every), generate_text=grammar.default_generate_text
        )
    except Timeout:
        outcomes = {m: grammar.Outcome("timeout", f"over {timeout} s", "timeout") for m in modes_for(index, hvp_every)}
    except Exception as exc:  # noqa: BLE001 - the primal itself failed: the grammar's bug
        outcomes = {
            m: grammar.Outcome("skipped", f"primal failed: {grammar._short(exc)}") for m in modes_for(index, hvp_every)
        }
    finally:
        signal.alarm(0)
    return index, outcomes, time.perf_counter() - start


def minimize(program: grammar.Program, mode: str, outcome: grammar.Outcome, budget: float = 20.0) -> grammar.Program:
    """Greedily delete statements (a block header with its block) while the failure stays."""
    deadline = time.monotonic() + budget
    lines = program.marked.split("\n")

    def same(candidate: list[str]) -> bool:
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(max(1, int(deadline - time.monotonic())))
        try:
            trial = grammar.Program("\n".join(candidate), program.args, program.rng_seed)
            compile(trial.source, "m", "exec")
            got = grammar.check_modes(trial, (mode,), generate_text=grammar.default_generate_text)[mode]
        except (Exception, Timeout):  # noqa: BLE001 - a candidate that does not run is not smaller
            return False
        finally:
            signal.alarm(0)
        return got.category == outcome.category and got.key == outcome.key

    changed = True
    while changed and time.monotonic() < deadline:
        changed = False
        i = len(lines) - 1
        while i >= 0 and time.monotonic() < deadline:
            line = lines[i]
            indent = len(line) - len(line.lstrip())
            stripped = line.strip()
            if not stripped or stripped.startswith(("def ", "import ", "return ", "else", "elif")) or indent == 0:
                i -= 1
                continue
            end = i + 1
            while end < len(lines) and lines[end].strip() and len(lines[end]) - len(lines[end].lstrip()) > indent:
                end += 1
            candidate = lines[:i] + lines[end:]
            if same(candidate):
                lines, changed = candidate, True
            i -= 1
    return grammar.Program("\n".join(lines), program.args, program.rng_seed)


def write_repro(out: Path, seed: int, index: int, mode: str, outcome: grammar.Outcome) -> Path:
    program = draw(seed, index)
    small = minimize(program, mode, outcome)
    again = grammar.check_modes(small, (mode,), generate_text=grammar.default_generate_text)[mode]
    np.set_printoptions(precision=17)
    text = (
        f"# dpgen fuzz failure: seed {seed}, index {index}, mode {mode}: {outcome.category}\n"
        f"# reproduce: PYTHONPATH=src python benchmarks/fuzz.py --seed {seed} --index {index} --show\n"
        f"# key: {outcome.key}\n"
        f"# arguments: {program.args!r}\n"
        + "".join(f"# {line}\n" for line in (again.detail or outcome.detail).strip().splitlines()[-12:])
        + "\n"
        + small.source
    )
    path = out / f"{outcome.category}-{mode}-s{seed}-i{index}.py"
    path.write_text(text)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=1000, help="how many programs (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="first program index")
    parser.add_argument("--index", type=int, help="run only this program index")
    parser.add_argument("--show", action="store_true", help="print the program and each mode's detail")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=30, help="seconds per program, all modes")
    parser.add_argument("--out", type=Path, help="write a minimized repro file per failure here")
    parser.add_argument(
        "--hvp-every",
        type=int,
        default=2,
        help="HVP mode on every k-th program (its generation costs twice the rest); 0: never",
    )
    parser.add_argument(
        "--format", action="store_true", help="format the generated code with black, as `dpgen diff` does (slower)"
    )
    options = parser.parse_args(argv)

    unformatted(options.format)
    if options.index is not None:
        program = draw(options.seed, options.index)
        if options.show:
            print(program.source)
            print("# arguments:", program.args)
        for mode, outcome in grammar.check_modes(program, MODES, generate_text=grammar.default_generate_text).items():
            print(f"{mode}: {outcome.category} {outcome.key}")
            if options.show and outcome.detail:
                print(outcome.detail)
        return 0

    jobs = [
        (options.seed, i, options.timeout, options.hvp_every, options.format)
        for i in range(options.start, options.start + options.n)
    ]
    counts = {m: collections.Counter() for m in MODES}
    keys = collections.Counter()
    failures = []
    start = time.perf_counter()
    with multiprocessing.Pool(options.jobs, maxtasksperchild=200) as pool:
        for done, (index, outcomes, _) in enumerate(pool.imap_unordered(run_one, jobs, chunksize=4), 1):
            for mode, outcome in outcomes.items():
                counts[mode][outcome.category] += 1
                if outcome.category in FAILURES:
                    keys[(mode, outcome.category, outcome.key)] += 1
                    failures.append((index, mode, outcome))
                elif outcome.category == "refused":
                    keys[(mode, "refused", outcome.key)] += 1
            if done % 100 == 0:
                rate = done / (time.perf_counter() - start)
                print(f"  {done}/{len(jobs)} programs, {rate:.2f}/s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - start

    categories = ["pass", "refused", "wrong", "internal", "crash", "bad-refusal", "timeout", "skipped", "n/a"]
    print(
        f"{len(jobs)} programs (seed {options.seed}, indices {options.start}..{options.start + options.n - 1}) in {elapsed:.0f} s: {len(jobs) / elapsed:.2f} programs/s with {options.jobs} jobs"
    )
    print(f"{'mode':8}" + "".join(f"{c:>12}" for c in categories))
    for mode in MODES:
        print(f"{mode:8}" + "".join(f"{counts[mode][c]:>12}" for c in categories))
    print("\nby cause (mode, category, first line):")
    for (mode, category, key), n in sorted(keys.items(), key=lambda item: (-item[1], item[0])):
        print(f"{n:6}  {mode:8} {category:10} {key}")
    for index, mode, outcome in sorted(failures, key=lambda f: (f[1], f[0])):
        if outcome.category in ("wrong", "crash", "bad-refusal", "timeout"):
            print(f"  --seed {options.seed} --index {index}: {mode} {outcome.category}")
    if options.out and failures:
        options.out.mkdir(parents=True, exist_ok=True)
        seen = collections.Counter()
        for index, mode, outcome in sorted(failures, key=lambda f: (f[1], f[0])):
            cause = (mode, outcome.category, outcome.key)
            seen[cause] += 1
            if seen[cause] <= 2 and outcome.category != "timeout":  # a few repros per cause; a timeout is its own repro
                print("wrote", write_repro(options.out, options.seed, index, mode, outcome))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
