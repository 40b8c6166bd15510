#!/usr/bin/env python3
"""The bar to beat: a PyTorch CPU training step of the reference model.

Builds the same GPT-2 (4 layers, C=256, 4 heads, T=128, V=65, tied head) with the model code of
scripts/torch_reference.py, and times forward + backward + AdamW steps on random tokens with --threads
threads (one by default). Prints tokens/s (median over the steps after a warm-up) as JSON; bench/versus-pytorch.ts
runs it beside Conveyor.

    .venv/bin/python bench/torch_train_step.py [--batch-size 16] [--steps 8] [--threads 1]
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from torch_reference import GPT2  # noqa: E402


def reference_weights(layers, C, T, V):
    """Hugging Face GPT-2 names and shapes; values do not matter for speed."""
    shapes = {"wte.weight": (V, C), "wpe.weight": (T, C), "ln_f.weight": (C,), "ln_f.bias": (C,)}
    for layer in range(layers):
        h = f"h.{layer}"
        shapes.update({
            f"{h}.ln_1.weight": (C,), f"{h}.ln_1.bias": (C,), f"{h}.ln_2.weight": (C,), f"{h}.ln_2.bias": (C,),
            f"{h}.attn.c_attn.weight": (C, 3 * C), f"{h}.attn.c_attn.bias": (3 * C,),
            f"{h}.attn.c_proj.weight": (C, C), f"{h}.attn.c_proj.bias": (C,),
            f"{h}.mlp.c_fc.weight": (C, 4 * C), f"{h}.mlp.c_fc.bias": (4 * C,),
            f"{h}.mlp.c_proj.weight": (4 * C, C), f"{h}.mlp.c_proj.bias": (C,),
        })
    return {name: (torch.randn(shape) * 0.02).numpy() for name, shape in shapes.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    layers, C, T, V, heads = 4, 256, 128, 65, 4
    config = {"n_head": heads, "n_layer": layers, "n_positions": T, "vocab_size": V, "tie_word_embeddings": True}
    model = GPT2(config, reference_weights(layers, C, T, V), torch.float32)
    parameters = list(model.w.values())
    for parameter in parameters:
        parameter.requires_grad_(True)
    optimizer = torch.optim.AdamW(parameters, lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
    times = []
    cpu_times = []
    for step in range(args.steps + 1):
        tokens = torch.randint(0, V, (args.batch_size, T + 1))
        start = time.perf_counter()
        cpu_start = time.process_time()
        logits = model.logits(tokens[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, V), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        if step > 0:  # step 0 warms up allocators and kernels
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    median = statistics.median(times)
    cpu_median = statistics.median(cpu_times)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "batchSize": args.batch_size,
                      "stepTimeS": median, "tokensPerS": args.batch_size * T / median,
                      # this process's CPU time: what its threads got, however loaded the host
                      "cpuStepTimeS": cpu_median, "cpuTokensPerS": args.batch_size * T / cpu_median}))


if __name__ == "__main__":
    main()
