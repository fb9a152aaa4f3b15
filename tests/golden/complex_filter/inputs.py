def cases(rng):
    w = rng.uniform(0.1, 3.0, size=5)
    data = 1.5 / (1 + 1j * w * 0.8) + 0.05 * (rng.normal(size=5) + 1j * rng.normal(size=5))
    return {
        "response": [1.2, 0.6, w],
        "loss": [1.2, 0.6, w, data],
        "phase_error": [1.2, 0.6, w, data],
    }
