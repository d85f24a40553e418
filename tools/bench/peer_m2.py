#!/usr/bin/env python3
"""Peer for M2 (libs/models/src/nets/m2.ts), the way ../shared/peer/m3_torch.py is for M3: the same
layer shapes in PyTorch, timed on the CPU for tools/bench/bench.ts.

Per frame conv 3x3 (1->16) ReLU, conv 3x3 (16->16) ReLU; a forward ConvLSTM (16 in, 16 hidden,
3x3, one convolution over [input, hidden] giving the gates i, f, o, g); per frame conv 3x3
(16->16) ReLU, conv 1x1 (16->1); binary cross-entropy against the event labels (eqs. 11-12).
RMSprop(lr 1e-3, alpha 0.9, eps 1e-7). One step is one sequence of K frames of HEIGHT x WIDTH;
inference is the sigmoid of the same network over the sequence.

Needs Debian's python3-torch; run with /usr/bin/python3.
Usage: peer_m2.py HEIGHT WIDTH K ITERS [THREADS]
Prints one JSON line: {"peer":"pytorch","model":"m2","h":..,"w":..,"k":..,"threads":..,"train_step_ms":..,"predict_ms":..}
"""
import torch, torch.nn as nn
from peer_timing import peer_args, time_peer


class Cell(nn.Module):
    def __init__(self, cin, hid):
        super().__init__()
        self.hid = hid
        self.conv = nn.Conv2d(cin + hid, 4 * hid, 3, padding=1)

    def forward(self, x, h, c):
        i, f, o, g = torch.split(self.conv(torch.cat([x, h], 1)), self.hid, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


class M2(nn.Module):
    def __init__(self, hid=16):
        super().__init__()
        self.hid = hid
        self.e1, self.e2 = nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 16, 3, padding=1)
        self.cell = Cell(16, hid)
        self.d1, self.d2 = nn.Conv2d(hid, 16, 3, padding=1), nn.Conv2d(16, 1, 1)

    def forward(self, xs):
        b, t, _, h, w = xs.shape
        f = torch.relu(self.e2(torch.relu(self.e1(xs.reshape(b * t, 1, h, w))))).reshape(b, t, 16, h, w)
        hs = xs.new_zeros(b, self.hid, h, w)
        cs = hs.clone()
        out = []
        for i in range(t):
            hs, cs = self.cell(f[:, i], hs, cs)
            out.append(hs)
        z = torch.stack(out, 1).reshape(b * t, self.hid, h, w)
        return self.d2(torch.relu(self.d1(z))).reshape(b, t, 1, h, w)


def main():
    h, w, k, iters = peer_args()
    m = M2()
    x = (torch.rand(1, k, 1, h, w) > 0.5).float()
    y = (torch.rand(1, k, 1, h, w) > 0.9).float()
    time_peer("m2", m, x, y, lambda xs: torch.sigmoid(m(xs)), h, w, k, iters)


if __name__ == "__main__":
    main()
