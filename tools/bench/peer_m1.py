#!/usr/bin/env python3
"""Peer for M1 (libs/models/src/nets/m1.ts), the way ../shared/peer/m3_torch.py is for M3: the same
layer shapes in PyTorch, timed on the CPU for tools/bench/bench.ts.

Encoder conv 5x5 (1->16) ReLU, conv 5x5 (16->16) ReLU, conv 1x1 (16->6), softmax over the 6 maps,
winner-take-all with the straight-through gradient (m1.ts's default); in training one random map
per sample dropped and uniform noise in [-0.2, 0.2] added; decoder conv 5x5 (6->16) ReLU,
conv 5x5 (16->16) ReLU, conv 1x1 (16->1); binary cross-entropy against the frame (eq. 10).
RMSprop(lr 1e-3, alpha 0.9, eps 1e-7). One step is one batch of K frames of HEIGHT x WIDTH (the
frames one M3 window covers); inference is m1.ts's featureMaps (encoder, softmax, argmax, max).

Needs Debian's python3-torch; run with /usr/bin/python3.
Usage: peer_m1.py HEIGHT WIDTH K ITERS [THREADS]
Prints one JSON line: {"peer":"pytorch","model":"m1","h":..,"w":..,"k":..,"threads":..,"train_step_ms":..,"predict_ms":..}
"""
import torch, torch.nn as nn
import torch.nn.functional as F
from peer_timing import peer_args, time_peer


class WinnerTakeAll(torch.autograd.Function):
    """Keeps each pixel's winning map; the gradient passes to every map (straight-through)."""

    @staticmethod
    def forward(ctx, x):
        return x * F.one_hot(x.argmax(1), x.shape[1]).permute(0, 3, 1, 2).to(x.dtype)

    @staticmethod
    def backward(ctx, dy):
        return dy


class M1(nn.Module):
    def __init__(self, maps=6):
        super().__init__()
        self.maps = maps
        self.e1, self.e2, self.e3 = nn.Conv2d(1, 16, 5, padding=2), nn.Conv2d(16, 16, 5, padding=2), nn.Conv2d(16, maps, 1)
        self.d1, self.d2, self.d3 = nn.Conv2d(maps, 16, 5, padding=2), nn.Conv2d(16, 16, 5, padding=2), nn.Conv2d(16, 1, 1)

    def soft(self, x):
        return torch.softmax(self.e3(torch.relu(self.e2(torch.relu(self.e1(x))))), 1)

    def forward(self, x):
        h = WinnerTakeAll.apply(self.soft(x))
        keep = torch.ones(x.shape[0], self.maps, 1, 1)
        keep[torch.arange(x.shape[0]), torch.randint(self.maps, (x.shape[0],))] = 0
        h = h * keep + torch.empty_like(h).uniform_(-0.2, 0.2)
        return self.d3(torch.relu(self.d2(torch.relu(self.d1(h)))))

    def feature_maps(self, x):
        s = self.soft(x)
        return s.argmax(1), s.max(1).values


def main():
    h, w, k, iters = peer_args()
    m = M1()
    x = torch.rand(k, 1, h, w)
    time_peer("m1", m, x, x, m.feature_maps, h, w, k, iters)


if __name__ == "__main__":
    main()
