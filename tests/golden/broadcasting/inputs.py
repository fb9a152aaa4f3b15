def cases(rng):
    x = rng.uniform(0.5, 1.5, size=(3, 4))
    return {
        "binary": [x, rng.normal(size=(1, 4)), rng.normal(size=(3, 1)), 0.7],
        "scalar_first": [1.3, rng.uniform(0.5, 1.0, size=5)],
        "where_clip": [rng.normal(size=(2, 5)) + 0.05, rng.normal(size=5)],
    }
