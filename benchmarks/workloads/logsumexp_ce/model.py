"""Benchmark workload `logsumexp_ce`: softmax cross-entropy with a numerically stable logsumexp.

`logits` is (512, 1000), `labels` an integer class per row (see hand.py). The row maximum is
subtracted before `exp` so nothing overflows; `labels` is only used as an index, so dpgen
differentiates in `logits` alone and `loss_grad` returns that one gradient.
"""

import numpy as np


def loss(logits, labels):
    m = np.max(logits, axis=1, keepdims=True)
    shifted = logits - m
    lse = np.log(np.sum(np.exp(shifted), axis=1))
    picked = shifted[np.arange(logits.shape[0]), labels]
    return np.mean(lse - picked)
