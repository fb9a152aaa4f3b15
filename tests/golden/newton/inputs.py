def cases(rng):
    return {
        "cube_root": [rng.uniform(0.5, 8.0, size=4), 1e-12],
        "loss": [rng.uniform(0.5, 8.0, size=4), rng.normal(size=4)],
    }
