def cases(rng):
    return {"final_energy": [rng.normal(size=12), 0.3, 20]}
