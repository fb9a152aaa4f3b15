"""Values shaped like a function's arguments or results: arrays, floats, and dicts, lists and
tuples of them. Random directions, shifts along them, inner products, and comparisons, all
through the structure (None counts as a zero tangent or cotangent).

Complex leaves are points of R^2 per element: a random direction along a complex leaf is
complex (real and imaginary parts drawn independently), and the inner product is the real one,
Re<a, b> = sum(real(conj(a) * b)), under which a cotangent dL/dx + i dL/dy pairs with a
tangent dx + i dy to give dL. For real leaves every function here computes exactly what it did
before complex support (same random draws, same arithmetic)."""

from __future__ import annotations

import copy

import numpy as np


class Mismatch(AssertionError):
    """A derivative (or value) differs from what finite differences say, or two structures
    differ. An AssertionError, so pytest reports it as a failure; the fuzzer catches it to
    classify a program as wrong."""


def is_complex(value) -> bool:
    """A complex leaf: a Python or NumPy complex scalar, or an array of a complex dtype."""
    return isinstance(value, (complex, np.complexfloating)) or (
        isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.complexfloating)
    )


def random_complex(shape: tuple, rng):
    """Standard normal real and imaginary parts: a Python complex for shape (), else an array."""
    values = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    return complex(values) if shape == () else values


def random_tangent(value, rng):
    """A random tangent mirroring `value`'s structure; None for integers, bools and strings;
    complex (both parts random) for a complex leaf."""
    if isinstance(value, dict):
        return {k: random_tangent(v, rng) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(random_tangent(v, rng) for v in value)
    if is_complex(value):
        return random_complex(np.shape(value), rng)
    if isinstance(value, (bool, int, str, np.integer)) or (
        isinstance(value, np.ndarray) and not np.issubdtype(value.dtype, np.floating)
    ):
        return None
    return rng.normal(size=np.shape(value)) if np.ndim(value) else float(rng.normal())


def inner(a, b) -> float:
    """The real inner product Re<a, b> = sum(real(conj(a) * b)) over matching structures (None
    counts as zero); for real leaves, the sum of elementwise products."""
    if a is None or b is None:
        return 0.0
    if isinstance(a, dict):
        return sum(inner(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            raise Mismatch(f"structure: {len(a)} items != {len(b)}")
        return sum(inner(x, y) for x, y in zip(a, b))
    if np.shape(a) != np.shape(b):  # no broadcasting: a wrong shape is a wrong derivative
        raise Mismatch(f"shape {np.shape(a)} != {np.shape(b)}")
    if is_complex(a) or is_complex(b):
        return float(np.sum(np.real(np.conj(np.asarray(a, dtype=complex)) * np.asarray(b, dtype=complex))))
    return float(np.sum(np.asarray(a, dtype=float) * np.asarray(b, dtype=float)))


def shifted(value, tangent, eps):
    """`value + eps * tangent` through the structure; a None tangent leaves the value alone."""
    if tangent is None:
        return copy.deepcopy(value)
    if isinstance(value, dict):
        return {k: shifted(value[k], tangent[k], eps) for k in value}
    if isinstance(value, (list, tuple)):
        return type(value)(shifted(v, t, eps) for v, t in zip(value, tangent))
    if np.ndim(value):
        return value + eps * tangent
    # A scalar stays a Python number: complex when the value or the direction is.
    return complex(value + eps * tangent) if is_complex(value) or is_complex(tangent) else float(value + eps * tangent)


def combine(args, steps):
    """args + sum of eps * tangent over `steps` [(tangents, eps)]."""
    out = copy.deepcopy(args)
    for tangents, eps in steps:
        out = [shifted(a, t, eps) for a, t in zip(out, tangents)]
    return out


def difference(a, b, eps):
    """(a - b) / (2 eps) through the structure: a central difference from its two ends (None
    where both ends are None: a parameter without a cotangent)."""
    if a is None and b is None:
        return None
    if isinstance(a, dict):
        return {k: difference(a[k], b[k], eps) for k in a}
    if isinstance(a, (list, tuple)):
        return type(a)(difference(x, y, eps) for x, y in zip(a, b))
    kind = complex if is_complex(a) or is_complex(b) else float
    return (np.asarray(a, dtype=kind) - np.asarray(b, dtype=kind)) / (2 * eps)


def flat(value) -> np.ndarray:
    """Every number in `value`, in a fixed order (dict keys sorted); a complex leaf gives its
    real parts, then its imaginary parts (real numbers, as R^2 sees them)."""
    if isinstance(value, dict):
        return np.concatenate([flat(value[k]) for k in sorted(value)] or [np.zeros(0)])
    if isinstance(value, (list, tuple)):
        return np.concatenate([flat(v) for v in value] or [np.zeros(0)])
    if is_complex(value):
        values = np.ravel(np.asarray(value, dtype=complex))
        return np.concatenate([values.real, values.imag])
    return np.ravel(np.asarray(value, dtype=float))


def same_structure(a, b) -> bool:
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict)
            and isinstance(b, dict)
            and set(a) == set(b)
            and all(same_structure(a[k], b[k]) for k in a)
        )
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (
            isinstance(a, (list, tuple))
            and isinstance(b, (list, tuple))
            and len(a) == len(b)
            and all(map(same_structure, a, b))
        )
    return np.shape(a) == np.shape(b)


def assert_close(got, expected, rtol, atol, what):
    """`got` has `expected`'s structure and shapes, and its numbers are close."""
    if isinstance(expected, dict):
        assert set(got) == set(expected), what
        for k in expected:
            assert_close(got[k], expected[k], rtol, atol, f"{what}[{k!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), what
        for k, (x, y) in enumerate(zip(got, expected)):
            assert_close(x, y, rtol, atol, f"{what}[{k}]")
    else:
        assert np.shape(got) == np.shape(expected), f"{what}: shape {np.shape(got)} != {np.shape(expected)}"
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=what)


def assert_same(a, b, what):
    """Exactly equal, structure included (an argument the generated code must not mutate)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), what
        for key in a:
            assert_same(a[key], b[key], what)
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), what
        for x, y in zip(a, b):
            assert_same(x, y, what)
    else:
        np.testing.assert_array_equal(a, b, err_msg=what)


def leaf_paths(value, path=()):
    """Paths to the leaves of an argument: dict keys and list positions."""
    if isinstance(value, dict):
        for key in value:
            yield from leaf_paths(value[key], path + (key,))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from leaf_paths(item, path + (i,))
    else:
        yield path


def get_leaf(value, path):
    for step in path:
        value = value[step]
    return value


def with_leaf(value, path, new):
    """A deep copy of `value` with the leaf at `path` replaced (a tuple leaf holder is rebuilt)."""
    value = copy.deepcopy(value)
    if not path:
        return new
    holder = get_leaf(value, path[:-1])
    if isinstance(holder, tuple):
        items = list(holder)
        items[path[-1]] = new
        return with_leaf(value, path[:-1], tuple(items))
    holder[path[-1]] = new
    return value
