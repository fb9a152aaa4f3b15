def cases(rng):
    T, B, D, H = 4, 3, 2, 5
    return {
        "rnn_loss": [
            rng.normal(size=(T, B, D)),
            rng.normal(size=(B, H)),
            rng.normal(size=(D, H)),
            rng.normal(size=(H, H)) * 0.4,
            rng.normal(size=H),
            rng.normal(size=H),
            rng.normal(size=(T, B)),
        ]
    }
