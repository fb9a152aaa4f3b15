def cases(rng):
    return {
        "diffuse": [rng.normal(size=8), 0.2],
        "simulate": [rng.normal(size=8), 0.2, 12],
        "cube_root": [rng.uniform(0.5, 8.0, size=4)],
    }
