"""Indexing reads: slices, integers, new axes, fancy indices and boolean masks."""

import numpy as np


def slices(x):
    head = x[0]
    tail = x[1:, ::2]
    last = x[-1, -1]
    return np.sum(head) + np.sum(tail**2) + last * x[..., 1][None, :].sum()


def gather(x, idx):
    picked = x[idx]
    return np.sum(picked * picked) + np.sum(x[[0, 0, 2]])


def masked(x):
    positive = x[x > 0]
    return np.sum(np.log1p(positive)) + np.sum(x.T[1:3])
