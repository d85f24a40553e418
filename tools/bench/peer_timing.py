"""The timing and report the PyTorch peers of tools/bench share (peer_m1.py, peer_m2.py).

Each peer builds its network and inputs from the command line (HEIGHT WIDTH K ITERS [THREADS]),
then hands them to `time_peer`: one warm-up RMSprop step, ITERS timed steps, then inference
twice without gradients (the second timed), and one JSON line on stdout.
"""
import json, sys, time
import torch, torch.nn as nn


def peer_args():
    """HEIGHT, WIDTH, K and ITERS from the command line; THREADS (default 2) is applied to torch."""
    h, w, k, iters = map(int, sys.argv[1:5])
    torch.set_num_threads(int(sys.argv[5]) if len(sys.argv) > 5 else 2)
    return h, w, k, iters


def time_peer(model, net, x, target, infer, h, w, k, iters):
    """Times training `net` on x against `target` and `infer(x)`; prints the peer's JSON line."""
    opt = torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss = nn.BCEWithLogitsLoss()

    def step():
        opt.zero_grad()
        loss(net(x), target).backward()
        opt.step()

    step()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    t1 = time.perf_counter()
    with torch.no_grad():
        infer(x)
        t2 = time.perf_counter()
        infer(x)
        t3 = time.perf_counter()
    print(json.dumps({"peer": "pytorch", "model": model, "version": torch.__version__, "h": h, "w": w, "k": k,
                      "threads": torch.get_num_threads(),
                      "train_step_ms": round((t1 - t0) / iters * 1000, 1),
                      "predict_ms": round((t3 - t2) * 1000, 1)}))
