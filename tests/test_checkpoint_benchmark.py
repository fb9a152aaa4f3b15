"""benchmarks/checkpoint.py at its small size, for correctness only (no timing): every case's
checkpointed variants are generated with the pragma applied (no warning), their gradients equal
the plain one (its `prepare` raises otherwise), and the loop body's vjp runs exactly as often as
the schedule's closed form says (Revolve's n + R(n, s), the online tape's documented count)."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def _checkpoint_benchmark():
    spec = importlib.util.spec_from_file_location("bench_checkpoint", BENCHMARKS / "checkpoint.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses need to find their module
    spec.loader.exec_module(module)
    return module


checkpoint = _checkpoint_benchmark()


@pytest.mark.parametrize("case", checkpoint.CASES, ids=lambda case: case.name)
def test_checkpointed_variants_agree_and_count_steps(case, tmp_path):
    variants, steps = checkpoint.prepare(case, "small", tmp_path)
    assert steps > 1
    checkpointed = [v for v in variants if v.snapshots not in ("plain", "hand")]
    assert checkpointed
    for v in checkpointed:
        assert v.warning == "", v.warning  # the pragma was applied, not just read
        assert v.calls == checkpoint.expected_calls(case, v, steps), v.label


def test_closed_forms():
    # Revolve: s >= n - 1 runs every step but the last twice; s = 1 reruns from step 0 each time.
    assert [checkpoint.revolve_calls(n, n) for n in (1, 2, 10)] == [1, 3, 19]
    assert checkpoint.revolve_calls(10, 1) == 10 + 9 * 10 // 2
    assert checkpoint.revolve_calls(100, 7) == 355
    # Online: never above the stated bound, and states held never above s.
    for n in (1, 2, 3, 7, 64, 65, 100, 1000):
        for s in (None, 1, 2, 4, 14):
            exact, bound = checkpoint.online_calls(n, s)
            assert 2 * n - 1 <= exact <= bound, (n, s)
            assert len(checkpoint.online_kept(n, s)[0]) <= checkpoint.online_budget(n, s), (n, s)
