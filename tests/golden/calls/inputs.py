def cases(rng):
    x, w = rng.normal(size=(5, 3)), rng.normal(size=(3, 2))
    return {
        "affine": [x, w, rng.normal(size=2), 1.5],
        "normalize": [x, w, 2],
    }
