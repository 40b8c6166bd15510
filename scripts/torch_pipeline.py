#!/usr/bin/env python3
"""The reference GPT (scripts/torch_reference.py) trained under PyTorch's own pipeline runtime.

Cuts the GPT-2 into stages (the embedding with the first stage, the final layer norm and the tied head with
the last, the blocks spread evenly), builds torch.distributed.pipelining stages on gloo, and trains it with
either one of PyTorch's schedule classes or a schedule CSV (what `conveyor schedule --format torch-csv`
writes, or PyTorch's own compute_comms dump), loaded with PyTorch's own _load_csv. Tokens are random (seeded,
the same on every rank). Global rank 0 prints one JSON object (--json) or a line of text.

    torchrun --nproc-per-node 2 scripts/torch_pipeline.py --schedule 1F1B --json
    torchrun --nproc-per-node 2 scripts/torch_pipeline.py --schedule-csv zb-v.csv --microbatches 8 --json

--schedule takes PyTorch's class name without 'Schedule' (1F1B, GPipe, Interleaved1F1B, LoopedBFS,
InterleavedZeroBubble, ZBVZeroBubble, DualPipeV); multi-stage classes get --chunks stages per rank
(looped, or V for ZBVZeroBubble and DualPipeV). --profile DIR writes one torch.profiler Chrome trace per rank,
DIR/rank<r>.json, whose PP:<action> ranges name each pipeline action.
"""
import argparse
import csv
import json
import os
import re
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import GPT2  # noqa: E402

VOCAB = 65  # the size of Conveyor's character vocabulary for its built-in text
V_SCHEDULES = {"ZBVZeroBubble", "DualPipeV"}
CELL = re.compile(r"^\s*(\(.*\)OVERLAP_F_B|\d+[A-Z_]+\d*)?\s*$")


class UsageError(Exception):
    """A mistake in the arguments or the CSV: one line on stderr, exit code 2."""


def gpt2_weights(layers, C, T, V, seed):
    """Hugging Face GPT-2 names and shapes, initialised as GPT-2 is: N(0, 0.02), layer norms 1 and 0."""
    generator = np.random.default_rng(seed)
    normal = lambda *shape: (generator.standard_normal(shape) * 0.02).astype(np.float32)  # noqa: E731
    ones, zeros = (lambda n: np.ones(n, np.float32)), (lambda n: np.zeros(n, np.float32))
    weights = {"wte.weight": normal(V, C), "wpe.weight": normal(T, C), "ln_f.weight": ones(C), "ln_f.bias": zeros(C)}
    for layer in range(layers):
        h = f"h.{layer}"
        weights.update({
            f"{h}.ln_1.weight": ones(C), f"{h}.ln_1.bias": zeros(C), f"{h}.ln_2.weight": ones(C), f"{h}.ln_2.bias": zeros(C),
            f"{h}.attn.c_attn.weight": normal(C, 3 * C), f"{h}.attn.c_attn.bias": zeros(3 * C),
            f"{h}.attn.c_proj.weight": normal(C, C), f"{h}.attn.c_proj.bias": zeros(C),
            f"{h}.mlp.c_fc.weight": normal(C, 4 * C), f"{h}.mlp.c_fc.bias": zeros(4 * C),
            f"{h}.mlp.c_proj.weight": normal(4 * C, C), f"{h}.mlp.c_proj.bias": zeros(C),
        })
    return weights


def layer_ranges(layers, stages):
    """[stage] (first, end) block indices: blocks spread evenly, earlier stages take the remainder."""
    base, extra = divmod(layers, stages)
    ranges, start = [], 0
    for stage in range(stages):
        count = base + (1 if stage < extra else 0)
        ranges.append((start, start + count))
        start += count
    return ranges


class Stage(nn.Module):
    """One pipeline stage: the reference GPT's embedding (first), blocks [begin, end) and head (last).

    Each stage owns its parameters, the tied embedding included: PyTorch scales each stage's gradients once
    (REDUCE_GRAD), so a Parameter shared by two stages of one rank (a V placement) would be scaled twice.
    """

    def __init__(self, config, weights, blocks, first, last):
        super().__init__()
        self.blocks, self.first, self.last = blocks, first, last
        self.model = GPT2(config, {name: array for name, array in weights.items() if self.owns(name)}, torch.float32)
        self.model.w = {name: nn.Parameter(tensor) for name, tensor in self.model.w.items()}
        self.weights = nn.ParameterDict({name.replace(".", "__"): parameter for name, parameter in self.model.w.items()})

    def owns(self, name):
        if name.startswith("h."):
            return self.blocks[0] <= int(name.split(".")[1]) < self.blocks[1]
        if name in ("wte.weight", "wpe.weight"):
            return self.first or (self.last and name == "wte.weight")
        return self.last  # ln_f

    def forward(self, x):
        if self.first:
            x = self.model.embed(x)
        for layer in range(*self.blocks):
            x = self.model.block(x, layer)
        return self.model.head(x) if self.last else x


def read_csv_schedule(path):
    """Stage -> rank, stage count and form of a PyTorch schedule CSV (compute_only or compute_comms)."""
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as error:
        raise UsageError(f"--schedule-csv: cannot read {path}: {error.strerror}")
    owner, comms = {}, False
    for rank, row in enumerate(rows):
        for column, cell in enumerate(row):
            if not CELL.match(cell):
                raise UsageError(f"--schedule-csv {path}: row {rank + 1}, column {column + 1}: cannot read '{cell}'")
            for stage, kind in re.findall(r"(\d+)([A-Z_]+)", cell):
                if kind == "OVERLAP_F_B":
                    continue
                comms |= kind not in ("F", "B", "I", "W")
                if owner.setdefault(int(stage), rank) != rank:
                    raise UsageError(f"--schedule-csv {path}: stage {stage} appears on rank {owner[int(stage)]} and rank {rank}")
    if not owner or sorted(owner) != list(range(len(owner))):
        raise UsageError(f"--schedule-csv {path}: stages must run 0..n-1, each on one rank")
    return owner, len(rows), "compute_comms" if comms else "compute_only"


def placement_for(schedule, world, chunks):
    """stage -> rank for one of PyTorch's schedule classes."""
    from torch.distributed.pipelining.schedules import PipelineScheduleSingle, get_schedule_class

    try:
        cls = get_schedule_class(schedule)
    except ValueError as error:
        raise UsageError(f"--schedule: {error}")
    if issubclass(cls, PipelineScheduleSingle):
        return cls, {stage: stage for stage in range(world)}
    stages = world * chunks
    if cls.__name__.removeprefix("Schedule") in V_SCHEDULES:
        if chunks != 2:
            raise UsageError(f"--schedule {schedule} places exactly 2 stages per rank (got --chunks {chunks})")
        return cls, {stage: stage if stage < world else stages - 1 - stage for stage in range(stages)}
    return cls, {stage: stage % world for stage in range(stages)}


def build(args, rank, world):
    """The model cut into this rank's stages, the schedule driving them, and the ranks holding the ends."""
    from torch.distributed.pipelining import PipelineStage
    from torch.distributed.pipelining.schedules import PipelineScheduleSingle, _PipelineScheduleRuntime

    if args.schedule_csv is not None:
        owner, rows, form = read_csv_schedule(args.schedule_csv)
        if rows != world:
            raise UsageError(f"--schedule-csv {args.schedule_csv} has {rows} rows but the job has {world} ranks")
        cls = None
    else:
        cls, owner = placement_for(args.schedule, world, args.chunks)
    stages = len(owner)
    if stages > args.layers:
        raise UsageError(f"{stages} stages need at least {stages} layers (got --layers {args.layers})")
    config = {"n_head": args.heads, "n_layer": args.layers, "n_positions": args.seq_len, "vocab_size": VOCAB, "tie_word_embeddings": True}
    weights = gpt2_weights(args.layers, args.embd, args.seq_len, VOCAB, args.seed)
    ranges = layer_ranges(args.layers, stages)
    mine = [stage for stage in range(stages) if owner[stage] == rank]
    modules = [Stage(config, weights, ranges[s], s == 0, s == stages - 1) for s in mine]
    pipeline_stages = [PipelineStage(module, s, stages, torch.device("cpu")) for module, s in zip(modules, mine)]
    loss = lambda logits, target: F.cross_entropy(logits.reshape(-1, VOCAB), target.reshape(-1))  # noqa: E731
    if cls is None:
        schedule = _PipelineScheduleRuntime(pipeline_stages, args.microbatches, loss_fn=loss)
        schedule._load_csv(args.schedule_csv, format=form)
    elif issubclass(cls, PipelineScheduleSingle):
        schedule = cls(pipeline_stages[0], args.microbatches, loss_fn=loss)
    else:
        schedule = cls(pipeline_stages, args.microbatches, loss_fn=loss)
    tied = [module.model.w["wte.weight"] for module in modules if "wte.weight" in module.model.w]
    trainable = [parameter for module in modules for parameter in module.parameters()]
    return schedule, trainable, tied, owner[0], owner[stages - 1], stages, mine


def sum_tied_gradients(copies, group):
    """Every copy of the tied embedding ends with the sum of all copies' gradients (on this rank, then across)."""
    if not copies:
        return
    total = copies[0].grad.clone()
    for copy in copies[1:]:
        total += copy.grad
    if group is not None:
        dist.all_reduce(total, group=group)
    for copy in copies:
        copy.grad.copy_(total)


def train(args, rank, world):
    schedule, trainable, tied, first, last, stages, mine = build(args, rank, world)
    # The tied embedding on two ranks: its two gradients are summed between them (Megatron's embedding group).
    tied_group = dist.new_group([first, last]) if first != last else None
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    generator = torch.Generator().manual_seed(args.seed)
    losses, seconds = [], []
    profiler = None
    if args.profile is not None:
        os.makedirs(args.profile, exist_ok=True)
        profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
        profiler.__enter__()
    for _ in range(args.steps):
        tokens = torch.randint(0, VOCAB, (args.batch_size, args.seq_len + 1), generator=generator)
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        dist.barrier()
        start = time.perf_counter()
        step_losses = []
        call = {}
        if 0 in mine:
            call["args"] = (inputs,)
        if stages - 1 in mine:
            call["target"], call["losses"] = targets, step_losses
        optimizer.zero_grad(set_to_none=False)
        schedule.step(*call.get("args", ()), **{k: v for k, v in call.items() if k != "args"})
        sum_tied_gradients(tied, tied_group)
        optimizer.step()
        dist.barrier()
        seconds.append(time.perf_counter() - start)
        loss = torch.tensor([float(torch.stack(step_losses).mean().detach()) if step_losses else 0.0], dtype=torch.float64)
        dist.broadcast(loss, src=last)
        losses.append(loss.item())
    if profiler is not None:
        profiler.__exit__(None, None, None)
        profiler.export_chrome_trace(os.path.join(args.profile, f"rank{rank}.json"))
    return losses, seconds, stages


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--embd", type=int, default=256)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--microbatches", type=int, default=8)
    parser.add_argument("--steps", type=int, default=4)
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--schedule", default=None, help="PyTorch schedule class without 'Schedule' (default 1F1B)")
    choice.add_argument("--schedule-csv", default=None, metavar="FILE", help="a schedule CSV, compute_only or compute_comms")
    parser.add_argument("--chunks", type=int, default=2, help="stages per rank for multi-stage classes (default 2)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", default=None, metavar="DIR", help="write DIR/rank<r>.json, a Chrome trace per rank")
    args = parser.parse_args(argv)
    if args.schedule is None and args.schedule_csv is None:
        args.schedule = "1F1B"
    for name in ("layers", "embd", "heads", "seq_len", "batch_size", "microbatches", "steps", "threads", "chunks"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be a positive integer (got {getattr(args, name)})")
    if args.embd % args.heads != 0:
        raise UsageError(f"--embd {args.embd} must be a multiple of --heads {args.heads}")
    if args.batch_size % args.microbatches != 0:
        raise UsageError(f"--batch-size {args.batch_size} must be a multiple of --microbatches {args.microbatches}")
    return args


def main():
    rank = int(os.environ.get("RANK", "0"))
    try:
        args = parse_args(sys.argv[1:])
        if "WORLD_SIZE" not in os.environ:
            raise UsageError("run under torchrun, e.g. torchrun --nproc-per-node 2 scripts/torch_pipeline.py --schedule 1F1B")
        torch.set_num_threads(args.threads)
        dist.init_process_group("gloo")
        world = dist.get_world_size()
        losses, seconds, stages = train(args, rank, world)
    except UsageError as error:
        if rank == 0:
            print(f"torch_pipeline: {error}", file=sys.stderr)
        sys.exit(2)
    timed = seconds[1:] if len(seconds) > 1 else seconds  # the first step also builds the stages' buffers
    tokens_per_s = args.batch_size * args.seq_len * len(timed) / sum(timed)
    if rank == 0:
        result = {
            "schedule": args.schedule if args.schedule_csv is None else os.path.basename(args.schedule_csv),
            "scheduleCsv": args.schedule_csv, "ranks": world, "stages": stages, "microbatches": args.microbatches,
            "layers": args.layers, "embd": args.embd, "heads": args.heads, "seqLen": args.seq_len,
            "batchSize": args.batch_size, "steps": args.steps, "threads": args.threads, "seed": args.seed,
            "losses": losses, "stepSeconds": seconds, "tokensPerS": tokens_per_s, "torch": torch.__version__,
            "profile": args.profile,
        }
        if args.json:
            print(json.dumps(result))
        else:
            print(f"{result['schedule']}: {world} ranks, {stages} stages, losses {' '.join(f'{x:.4f}' for x in losses)}, {tokens_per_s:.0f} tokens/s")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
