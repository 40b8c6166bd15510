#!/usr/bin/env python3
"""PyTorch's own pipelining code run on Conveyor's schedule CSVs (for test/schedule/torch-interop.test.ts).

    python torch_interop.py load CASES.json
        For each {csv, ranks, stages, microbatches, torchClass?}: on a fake process group of `ranks`, build
        rank 0's stages, load the CSV with _PipelineScheduleRuntime._load_csv (PyTorch's validator and its
        lowering), run PyTorch's own dry-run simulator (_simulate, which flags deadlocks), and, where the
        schedule has a PyTorch class, that class's compute order for every rank (overlapped pairs expanded).
    torchrun --nproc-per-node 2 torch_interop.py train CASES.json
        For each {csv | schedule, microbatches}: two training steps of a small GPT (scripts/torch_pipeline.py)
        under that schedule on gloo.
Prints one JSON object (rank 0 for train).
"""
import json
import os
import sys
import types

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import torch_pipeline  # noqa: E402

MODEL = ["--layers", "4", "--embd", "32", "--heads", "2", "--seq-len", "16", "--batch-size", "8", "--steps", "2", "--seed", "3"]


def class_order(name, stages, microbatches, stage_modules):
    """PyTorch's compute order for a schedule class, per rank, as Conveyor tokens (OVERLAP_F_B expanded)."""
    from torch.distributed.pipelining.schedules import PipelineScheduleSingle, get_schedule_class

    cls = get_schedule_class(name)
    loss = lambda output, target: output.sum()  # noqa: E731
    if issubclass(cls, PipelineScheduleSingle):
        order = cls(stage_modules[0], microbatches, loss_fn=loss)._get_pipeline_order()
    else:
        order = cls(stage_modules, microbatches, loss_fn=loss).pipeline_order
    rows = []
    for rank in sorted(order):
        tokens = []
        for action in order[rank]:
            if action is None or action.computation_type.value in ("REDUCE_GRAD", "UNSHARD", "RESHARD"):
                continue
            tokens.extend(str(sub) for sub in (action.sub_actions or (action,)))
        rows.append(" ".join(tokens))
    return rows


def dry_run(schedule, stages):
    """PyTorch's own dry-run simulator (flags deadlocks) on its lowering of the loaded CSV. Its _simulate() refuses
    the UNSHARD that its own lowering adds (2.13), so FSDP and reduction actions are left out and pairs expanded."""
    from torch.distributed.pipelining.schedules import _simulate_comms_compute

    skipped = ("UNSHARD", "RESHARD", "REDUCE_GRAD")
    order = {
        rank: [sub for action in actions for sub in (action.sub_actions or (action,)) if sub.computation_type.value not in skipped]
        for rank, actions in schedule.pipeline_order_with_comms.items()
    }
    _simulate_comms_compute(order, lambda stage: schedule.stage_index_to_group_rank[stage], stages)


def load(cases):
    from torch.distributed.pipelining import PipelineStage
    from torch.distributed.pipelining.schedules import _PipelineScheduleRuntime
    from torch.testing._internal.distributed.fake_pg import FakeStore

    results = []
    for case in cases:
        dist.init_process_group("fake", store=FakeStore(), rank=0, world_size=case["ranks"])
        mine = []
        try:
            owner, _, _ = torch_pipeline.read_csv_schedule(case["csv"])
            mine = [stage for stage, rank in owner.items() if rank == 0]
            stages = [PipelineStage(torch.nn.Linear(4, 4), stage, case["stages"], torch.device("cpu")) for stage in mine]
            schedule = _PipelineScheduleRuntime(stages, case["microbatches"], loss_fn=lambda output, target: output.sum())
            schedule._load_csv(case["csv"], format="compute_only")
            dry_run(schedule, case["stages"])
            result = {"csv": case["csv"], "loaded": True, "commActions": sum(len(row) for row in schedule.pipeline_order_with_comms.values())}
        except Exception as error:  # reported to the test, which names the schedule
            result = {"csv": case["csv"], "loaded": False, "error": f"{type(error).__name__}: {error}"[:400]}
        if case.get("torchClass") and result["loaded"]:
            try:
                fresh = [PipelineStage(torch.nn.Linear(4, 4), stage, case["stages"], torch.device("cpu")) for stage in mine]
                result["classOrder"] = class_order(case["torchClass"], case["stages"], case["microbatches"], fresh)
            except Exception as error:
                result["classError"] = f"{type(error).__name__}: {error}"[:400]
        dist.destroy_process_group()
        results.append(result)
    print(json.dumps({"torch": torch.__version__, "results": results}))


def train(cases):
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    results = []
    for case in cases:
        chosen = ["--schedule-csv", case["csv"]] if "csv" in case else ["--schedule", case["schedule"]]
        args = torch_pipeline.parse_args(MODEL + ["--microbatches", str(case["microbatches"])] + chosen)
        losses, _, stages = torch_pipeline.train(args, rank, world)
        results.append({**case, "losses": losses, "stages": stages})
    if rank == 0:
        print(json.dumps({"torch": torch.__version__, "results": results}))
    dist.destroy_process_group()


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    with open(path) as handle:
        cases = json.load(handle)
    (load if mode == "load" else train)(cases)
