import numpy as np


def cases(rng):
    logits = rng.normal(size=(4, 6))
    onehot = np.eye(6)[[1, 0, 5, 2]]
    return {"logsumexp": [logits], "cross_entropy": [logits, onehot]}
