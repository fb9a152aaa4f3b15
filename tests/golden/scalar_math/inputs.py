def cases(rng):
    return {
        "pendulum_energy": [0.3, 1.2, 2.0],
        "special": [0.8, 1.7],
    }
