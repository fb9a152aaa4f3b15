"""`dpgen diff --dump-ir` and `--dump-after STAGE`: the jaxpr-like IR listing.

The listing's format is pinned on a small model (one equation per line citing its source
line; branch arms, loop bodies and pullbacks nested), every stage of `dpgen.pipeline.STAGES`
can be printed, and a stage that does not exist, or does not run in the chosen mode, is a
usage error (exit 2) that lists what would work.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from dpgen.cli import main
from dpgen.frontend.source import Source
from dpgen.header import Options
from dpgen.pipeline import STAGES, generate

MODEL = """\
import numpy as np


def f(x, W, n: int = 2):
    h = np.tanh(x @ W)
    if np.sum(h) > 0:
        h = h * 2.0
    for i in range(n):
        h = h + np.cos(h)
    return np.sum(h)
"""

LOWERED = """\
def f(x, W, n=2 [nondiff] [scalar]):  # model.py:4
  h_matmul = numpy.matmul(x, W)  # model.py:5
  h = numpy.tanh(h_matmul)  # model.py:5
  h_2 = if test_greater  # model.py:6
    test:
      test_sum = numpy.sum(h)  # model.py:6
      test_greater = numpy.greater(test_sum, 0)  # model.py:6
    then: call _f_line6_then(h)
      def _f_line6_then(h):  (the true arm of the 'if' at line 6)  # model.py:6
        h_2 = numpy.multiply(h, 2.0)  # model.py:7
        return (h_2,)
    else: call _f_line6_else(h)
      def _f_line6_else(h):  (the false arm of the 'if' at line 6)  # model.py:6
        return (h,)
  h_3 = for i in range(n)  # model.py:8
    carry: h_3 = h_2
    body: call _f_line8_for
      def _f_line8_for(i [nondiff], h):  (one iteration of the 'for' loop at line 8)  # model.py:8
        h_cos = numpy.cos(h)  # model.py:9
        h_2 = numpy.add(h, h_cos)  # model.py:9
        return (h_2,)
  out = numpy.sum(h_3)  # model.py:10
  return out
"""

PULLBACK = """\
  def f_pullback(out_bar):
    # model.py:10: return np.sum(h)
    h_3_bar = unreduce(out_bar, h_3, None, False)
    # model.py:8: for i in range(n):
    for step in reversed(range(len(loop_pullbacks))):
      _, h_3_bar = loop_pullbacks[step]((h_3_bar,))
    # model.py:6: if np.sum(h) > 0:
    h_bar = branch_pullback((h_3_bar,))
    # model.py:5: h = np.tanh(x @ W)
    h_matmul_bar = h_bar * (1 - h ** 2)
    x_bar = matmul_vjp_lhs(h_matmul_bar, x, W)
    W_bar = matmul_vjp_rhs(h_matmul_bar, x, W)
    return (x_bar, W_bar, _)
"""


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("model.py").write_text(MODEL, encoding="utf-8")


def run(*args: str):
    return CliRunner().invoke(main, list(args), prog_name="dpgen")


def test_lowered_listing_is_one_equation_per_line_with_nested_blocks():
    result = run("diff", "model.py", "--dump-after", "lower")
    assert result.exit_code == 0, result.output
    assert result.stdout == LOWERED


def test_reverse_listing_nests_the_pullback_and_its_adjoint_statements():
    result = run("diff", "model.py", "--dump-after", "simplify")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("def f_vjp(x, W, n=2 [nondiff] [scalar]):  (reverse mode of f)  # model.py:4\n")
    assert "  h_2, branch_pullback = if test_greater  # model.py:6\n" in out
    assert "    body: call _f_line8_for_vjp -> append step_pullback to loop_pullbacks\n" in out
    assert "        def _f_line8_for_pullback(out_bar -> (h_2_bar,)):\n" in out
    assert out.endswith("  return out, f_pullback\n" + PULLBACK)


def test_forward_listing_shows_tangent_statements_after_their_equation():
    result = run("diff", "model.py", "--mode", "forward", "--dump-after", "prune")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(textwrap.dedent("""\
            def f_jvp(x, W, n=2 [nondiff] [scalar]; dx, dW, dn):  (forward mode of f)  # model.py:4
              if dx is None: dx = zero_tangent(x)
              if dW is None: dW = zero_tangent(W)
              h_matmul = numpy.matmul(x, W)  # model.py:5
              dh_matmul = numpy.matmul(dx, W) + numpy.matmul(x, dW)
              h = numpy.tanh(h_matmul)  # model.py:5
              dh = dh_matmul * (1 - h ** 2)
              (h_2,), (dh_2,) = if test_greater  # model.py:6
            """))
    assert "    carry: h_3 = h_2\n    tangent carry: dh_3 = dh_2\n" in result.stdout


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_can_be_printed(stage):
    result = run("diff", "model.py", "--mode", "reverse,forward,hvp", "--dump-after", stage)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("def f"), result.stdout[:200]
    # Every node has its own line format: the generic dump of an unknown node never shows.
    for node in ("Eqn(", "Var(", "Const(", "Template(", "SetAdjoint(", "SetTangent(", "Apply("):
        assert node not in result.stdout, node
    assert not Path("g.py").exists()


def test_hvp_stage_lists_the_hessian_vector_product():
    result = run("diff", "model.py", "--mode", "hvp", "--dump-after", "hvp")
    assert result.exit_code == 0, result.output
    assert "def f_jvp_vjp(" in result.stdout
    assert "def f_hvp(x, W, n; directions):  (Hessian-vector product of f)\n" in result.stdout


def test_every_listed_stage_is_recorded_by_the_pipeline():
    """The stage list is the one in pipeline.py: a stage listed there but never recorded fails here."""
    stages = generate(Source("model.py", MODEL), Options(mode="reverse,forward,hvp"))
    assert tuple(stages.after) == STAGES


def test_unknown_stage_is_a_usage_error_listing_the_stages():
    result = run("diff", "model.py", "--dump-after", "lowering")
    assert result.exit_code == 2
    assert "Invalid value for '--dump-after': 'lowering' is not a stage" in result.stderr
    assert "the stages are " + ", ".join(STAGES) in result.stderr
    assert result.stdout == ""


def test_stage_that_does_not_run_in_the_mode_is_a_usage_error_naming_the_mode():
    result = run("diff", "model.py", "--dump-after", "forward")
    assert result.exit_code == 2
    assert "the stage 'forward' does not run with --mode reverse (add --mode forward)" in result.stderr
    result = run("diff", "model.py", "--mode", "forward", "--dump-after", "simplify")
    assert result.exit_code == 2
    assert "the stage 'simplify' does not run with --mode forward (add --mode reverse)" in result.stderr


def test_dump_after_a_stage_before_the_failing_one_still_prints():
    """--dump-after stops the run there: the lowered IR shows even where a later stage would refuse."""
    Path("model.py").write_text("import numpy as np\n\n\ndef f(A):\n    return np.linalg.det(A)\n", encoding="utf-8")
    result = run("diff", "model.py", "--mode", "hvp", "--dump-after", "lower")
    assert result.exit_code == 0, result.output
    assert "  out = numpy.linalg.det(A)  # model.py:5\n" in result.stdout


def test_dump_ir_prints_every_mode_in_order():
    result = run("diff", "model.py", "--mode", "reverse,forward,hvp", "--dump-ir")
    assert result.exit_code == 0, result.output
    headings = [line for line in result.stdout.splitlines() if line.startswith("# ") and ".py:" not in line]
    assert headings == ["# lowered", "# reverse", "# forward", "# hvp"]
    assert result.stdout.startswith("# lowered\n" + LOWERED)
