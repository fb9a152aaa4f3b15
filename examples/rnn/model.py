"""A vanilla tanh RNN with a linear readout, trained to predict the next value of a noisy sine.

A batch of sequences `xs` has shape (T, batch, input); the hidden state runs over time in a
Python `for` loop and the readout predicts a value at every step. `p` is a dict of parameters
(`Wx`, `Wh`, `b`, `Wo`, `bo`); dpgen's gradient of `p` is a dict with the same keys.

`dpgen diff model.py -o model_grad.py` writes `loss_grad`, which `train.py` uses.
"""

import numpy as np


def predict(xs, h0, p):
    h = h0
    outs = []
    for x in xs:
        h = np.tanh(x @ p["Wx"] + h @ p["Wh"] + p["b"])
        outs.append(h @ p["Wo"] + p["bo"])
    return np.stack(outs)


def loss(xs, ys, h0, p):
    pred = predict(xs, h0, p)
    return np.mean((pred - ys) ** 2)
