#!/usr/bin/python3
"""PyTorch side of the LSTM benchmark (see lstm_bench.c and lstm_bench.sh).

Same architecture (nn.LSTM(1, 32) + nn.Linear(32, 1) on the last step), same
data (the formula in series(), identical to lstm_bench.c), same initial
weights (read from the file lstm_bench writes), batch 256, shuffled,
Adam(lr 1e-3), MSELoss, float64 like the C core (pass --float32 to time
PyTorch's default precision instead).  Prints one key=value line.

usage: lstm_bench_torch.py EPOCHS INIT_WEIGHTS [--float32] [--threads N]
"""
import math
import sys
import time

import torch
from torch import nn

NWIN, WIN = 20000, 8


def series(k):
    h = math.sin(k * 12.9898) * 43758.5453
    h -= math.floor(h)
    return math.sin(0.05 * k) + 0.5 * math.sin(0.31 * k + 1.0) + 0.2 * (h - 0.5)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, 32, batch_first=True)
        self.linear = nn.Linear(32, 1)

    def forward(self, x):
        return self.linear(self.lstm(x)[0][:, -1, :]).squeeze(-1)


def main():
    epochs = int(sys.argv[1])
    init = sys.argv[2]
    f32 = "--float32" in sys.argv
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
    torch.set_num_threads(threads)
    dtype = torch.float32 if f32 else torch.float64
    torch.manual_seed(7)

    s = [series(k) for k in range(NWIN + WIN)]
    x = torch.tensor([[s[i + t] for t in range(WIN)] for i in range(NWIN)], dtype=dtype).unsqueeze(-1)
    y = torch.tensor([s[i + WIN] for i in range(NWIN)], dtype=dtype)

    net = Net().to(dtype)
    with open(init) as fh:
        flat = torch.tensor([float(v) for v in fh.read().split()], dtype=dtype)
    off = 0
    with torch.no_grad():
        for p in net.state_dict().values():
            p.copy_(flat[off:off + p.numel()].reshape(p.shape))
            off += p.numel()
    assert off == flat.numel(), "initial weights do not match the architecture"

    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = nn.MSELoss()
    times = []
    cpu0 = time.process_time()
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(NWIN)
        for b in range(0, NWIN, 256):
            idx = perm[b:b + 256]
            opt.zero_grad()
            loss = lossf(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    cpu_epoch = (time.process_time() - cpu0) / epochs
    with torch.no_grad():
        mse = lossf(net(x), y).item()
        best = best_cpu = 1e30
        for _ in range(5):
            t0 = time.perf_counter()
            c0 = time.process_time()
            net(x)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
    name = "pytorch-" + ("f32" if f32 else "f64") + f"-{threads}t"
    print(f"impl={name} epochs={epochs} s_per_epoch_mean={sum(times) / len(times):.4f} "
          f"s_per_epoch_min={min(times):.4f} cpu_s_per_epoch={cpu_epoch:.4f} final_mse={mse:.8f} "
          f"predict_s={best:.4f} predict_cpu_s={best_cpu:.4f}")


if __name__ == "__main__":
    main()
