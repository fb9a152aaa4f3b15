def cases(rng):
    def c():
        return complex(rng.normal(scale=0.5), rng.normal(scale=0.5))

    return {
        "poly": [c()],
        "ratio": [c(), 2.0 + c()],
        "series": [0.5 * (rng.normal(size=4) + 1j * rng.normal(size=4))],
        "intensity": [c(), c()],
    }
