def cases(rng):
    return {
        "f_pullback": [rng.normal(size=3), rng.normal(size=3)],
        "f": [rng.normal(size=3), rng.normal(size=3), 0.7],
    }
