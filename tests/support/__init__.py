"""Everything the tests share: generating code in memory, argument structures, and the one
gradient checker (central differences in float64, tolerances in `gradcheck`).

Test modules import only from here (never from each other): the case tables several test
files run (`flow_cases`, `rule_cases`) and the random-program grammar (`program_grammar`,
also used by benchmarks/fuzz.py) live in this package too.
"""

from support.generate import differentiate, fresh, generated_text, load, load_source  # noqa: F401
from support.gradcheck import (  # noqa: F401
    ALONG_ATOL,
    ALONG_RTOL,
    EPS,
    EPS_HVP,
    HVP_ALONG_ATOL,
    HVP_ALONG_RTOL,
    VALUE_TOL,
    central_difference,
    entries,
    check_derivative,
    check_hvp,
    check_jvp,
    check_vjp,
    directional_difference,
)
from support.structures import (  # noqa: F401
    Mismatch,
    assert_close,
    combine,
    difference,
    flat,
    inner,
    is_complex,
    random_complex,
    random_tangent,
    same_structure,
    shifted,
)
