"""Record torch.profiler traces of PyTorch's own pipelining and trim them into the fixtures `conveyor diagnose` is tested on.

For each schedule (GPipe and 1F1B by default) this runs scripts/torch_pipeline.py on 2 gloo processes under torchrun
with --profile, which writes one Chrome trace per rank (torch.profiler, CPU activity; the rank in distributedInfo). A
raw trace holds every nested operator (several MB). The trimmed copy keeps what the diagnosis reads and drops the rest:

  - the header fields (schemaVersion, distributedInfo, baseTimeNanoseconds, displayTimeUnit, traceName),
  - thread and process names,
  - on the training thread, the top-level operators and every user annotation (Forward i, Backward i, Optimizer.step,
    gloo's transfers), and every c10d/gloo/NCCL operator,
  - on gloo's own threads, their collectives,

each event with name, ph, cat, ts, dur, pid, tid (args only where they name a collective or a correlation).

    /work/venv/bin/python scripts/pipeline_traces.py --out test/planner/fixtures/kineto
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
COMM_PREFIXES = ("c10d::", "gloo:", "nccl")
KEPT_ARGS = ("Collective name", "correlation")


def trim(trace):
    events = [e for e in trace["traceEvents"] if isinstance(e, dict)]
    complete = [e for e in events if e.get("ph") == "X" and isinstance(e.get("ts"), (int, float)) and isinstance(e.get("dur"), (int, float))]
    busy = {}
    for e in complete:
        if e.get("cat") in ("cpu_op", "user_annotation"):
            key = (e.get("pid"), e.get("tid"))
            busy[key] = busy.get(key, 0) + e["dur"]
    main = max(busy, key=busy.get)
    on_main = sorted((e for e in complete if (e.get("pid"), e.get("tid")) == main), key=lambda e: (e["ts"], -e["dur"]))
    kept, end = [], float("-inf")
    for e in on_main:
        comm = e["name"].startswith(COMM_PREFIXES)
        if e["ts"] >= end and not comm and e.get("cat") != "user_annotation":
            kept.append(e)
            end = e["ts"] + e["dur"]
        elif comm or e.get("cat") == "user_annotation":
            kept.append(e)
    kept += [e for e in complete if (e.get("pid"), e.get("tid")) != main and e["name"].startswith(COMM_PREFIXES)]
    slim = []
    for e in sorted(kept, key=lambda e: e["ts"]):
        event = {k: e[k] for k in ("name", "ph", "cat", "ts", "dur", "pid", "tid") if k in e}
        args = {k: v for k, v in e.get("args", {}).items() if k in KEPT_ARGS}
        if args:
            event["args"] = args
        slim.append(event)
    names = [e for e in events if e.get("ph") == "M" and e.get("name") in ("process_name", "thread_name")]
    header = {k: trace[k] for k in ("schemaVersion", "distributedInfo", "baseTimeNanoseconds", "displayTimeUnit", "traceName") if k in trace}
    return {**header, "traceEvents": names + slim}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for <schedule>/rank<r>.json")
    parser.add_argument("--schedules", default="GPipe,1F1B")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--microbatches", type=int, default=4)
    parser.add_argument("--torchrun", default=os.path.join(os.path.dirname(sys.executable), "torchrun"))
    args = parser.parse_args()
    for schedule in args.schedules.split(","):
        with tempfile.TemporaryDirectory() as raw:
            command = [
                args.torchrun, "--nproc-per-node", "2", "--master-port", str(free_port()), os.path.join(HERE, "torch_pipeline.py"),
                "--layers", "2", "--embd", "64", "--heads", "2", "--seq-len", "32", "--batch-size", "8",
                "--microbatches", str(args.microbatches), "--steps", str(args.steps), "--schedule", schedule, "--profile", raw,
            ]
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            target = os.path.join(args.out, schedule)
            os.makedirs(target, exist_ok=True)
            for rank in (0, 1):
                with open(os.path.join(raw, f"rank{rank}.json")) as file:
                    trace = json.load(file)
                trimmed = trim(trace)
                trimmed["traceName"] = f"{schedule}/rank{rank}.json"
                with open(os.path.join(target, f"rank{rank}.json"), "w") as file:
                    json.dump(trimmed, file, separators=(",", ":"))
                print(f"{schedule} rank {rank}: {len(trace['traceEvents'])} events -> {len(trimmed['traceEvents'])}")


if __name__ == "__main__":
    main()
