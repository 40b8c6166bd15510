#!/usr/bin/env python3
"""The peer for bench/gemm.ts: PyTorch's own GEMM (torch.mm on one thread) at the same shapes and forms.

Reads the shapes as JSON ([[M, K, N], ...]) from the first argument and times C = A·B, A·Bᵀ and Aᵀ·B, the
transposed operands stored transposed and passed as views, as Conveyor's matmul reads them. Like the
Conveyor side it takes the best of --rounds interleaved rounds (each round times every cell once), in this
thread's CPU time and in wall time, and prints one JSON object: cells[shape][form] = {cpu, wall} GFLOP/s.

    .venv/bin/python bench/torch_gemm.py '[[512, 768, 3072]]' [--rounds 9]
"""
import argparse
import json
import time

import torch


def best_call(work, calls):
    """Thread CPU and wall seconds per call over one run of `calls` calls."""
    cpu, wall = time.thread_time(), time.perf_counter()
    for _ in range(calls):
        work()
    return (time.thread_time() - cpu) / calls, (time.perf_counter() - wall) / calls


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("shapes")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    torch.set_num_threads(1)
    shapes = json.loads(args.shapes)
    products = []
    for M, K, N in shapes:
        a, b, c = torch.rand(M, K) - 0.5, torch.rand(K, N) - 0.5, torch.empty(M, N)
        a_stored_km, b_stored_nk = a.t().contiguous(), b.t().contiguous()
        forms = [(a, b), (a, b_stored_nk.t()), (a_stored_km.t(), b)]  # A·B, A·Bᵀ, Aᵀ·B
        # about 0.3 GFLOP per timed run, as in bench/gemm.ts
        calls = max(1, round(3e8 / (2 * M * K * N)))
        products.append([(lambda x=x, y=y, c=c: torch.mm(x, y, out=c), calls) for x, y in forms])
    best = [[[float("inf"), float("inf")] for _ in row] for row in products]
    for row in products:  # warm-up, not counted
        for work, calls in row:
            best_call(work, calls)
    for _ in range(args.rounds):
        for s, row in enumerate(products):
            for f, (work, calls) in enumerate(row):
                cpu, wall = best_call(work, calls)
                best[s][f] = [min(best[s][f][0], cpu), min(best[s][f][1], wall)]
    cells = [
        [{"cpu": 2 * M * K * N / cpu / 1e9, "wall": 2 * M * K * N / wall / 1e9} for cpu, wall in row]
        for (M, K, N), row in zip(shapes, best)
    ]
    print(json.dumps({"torch": torch.__version__, "cells": cells}))


if __name__ == "__main__":
    main()
