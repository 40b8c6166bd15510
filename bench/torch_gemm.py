#!/usr/bin/env python3
"""The peer for bench/gemm.ts: PyTorch's own GEMM (torch.mm on one thread) at the same shapes and forms.

Takes the shapes as JSON ([[M, K, N], ...]) in the first argument and times C = A·B, A·Bᵀ and Aᵀ·B, the
transposed operands stored transposed and passed as views, as Conveyor's matmul reads them. bench/gemm.ts
alternates its engines round by round, so this script first warms up and prints {"torch": version}, then
for every line it reads on stdin times each cell once (about 0.3 GFLOP, in this thread's CPU time and in
wall time) and prints {"cells": cells[shape][form] = {"cpu", "wall"} GFLOP/s}. It ends with its input.

    .venv/bin/python bench/torch_gemm.py '[[512, 768, 3072]]'
"""
import json
import sys
import time

import torch


def timed(work, calls):
    """Thread CPU and wall seconds per call over `calls` calls."""
    cpu, wall = time.thread_time(), time.perf_counter()
    for _ in range(calls):
        work()
    return (time.thread_time() - cpu) / calls, (time.perf_counter() - wall) / calls


def main():
    torch.set_num_threads(1)
    cells = []  # (flops, work, calls) per [shape][form]
    for M, K, N in json.loads(sys.argv[1]):
        a, b, c = torch.rand(M, K) - 0.5, torch.rand(K, N) - 0.5, torch.empty(M, N)
        a_stored_km, b_stored_nk = a.t().contiguous(), b.t().contiguous()
        forms = [(a, b), (a, b_stored_nk.t()), (a_stored_km.t(), b)]  # A·B, A·Bᵀ, Aᵀ·B
        flops = 2 * M * K * N
        calls = max(1, round(3e8 / flops))
        cells.append([(flops, lambda x=x, y=y, c=c: torch.mm(x, y, out=c), calls) for x, y in forms])
    for row in cells:
        for _, work, calls in row:
            timed(work, calls)
    print(json.dumps({"torch": torch.__version__}), flush=True)
    for _ in sys.stdin:
        report = []
        for row in cells:
            seconds = [(flops, timed(work, calls)) for flops, work, calls in row]
            report.append([{"cpu": flops / cpu / 1e9, "wall": flops / wall / 1e9} for flops, (cpu, wall) in seconds])
        print(json.dumps({"cells": report}), flush=True)


if __name__ == "__main__":
    main()
