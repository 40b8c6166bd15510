#!/usr/bin/env python3
"""Independent PyTorch reference for a Conveyor checkpoint.

Reads model.safetensors and config.json with the standard library and numpy only (no transformers, no
safetensors package), runs the GPT-2 forward in PyTorch, and prints the mean next-token cross-entropy
of a JSON file of token rows as {"loss": x}. Each row has T+1 ids: inputs are all but the last, targets
all but the first. With --transformers, the checkpoint is loaded by Hugging Face's
GPT2LMHeadModel.from_pretrained instead (where transformers is installed), which must find every key.

    /usr/bin/python3 scripts/torch_reference.py CHECKPOINT_DIR TOKENS.json [--dtype float32|float64] [--transformers]
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F


def fail(message):
    print(f"torch_reference: {message}", file=sys.stderr)
    sys.exit(2)


def read_safetensors(path):
    """name -> float32 numpy array, checking the layout as the format describes it."""
    with open(path, "rb") as handle:
        blob = handle.read()
    if len(blob) < 8:
        fail(f"{path} is truncated")
    (header_length,) = struct.unpack("<Q", blob[:8])
    if 8 + header_length > len(blob):
        fail(f"{path}: header length {header_length} runs past the end of the file")
    header = json.loads(blob[8 : 8 + header_length].decode("utf-8"))
    data = memoryview(blob)[8 + header_length :]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            fail(f"{path}: tensor {name} has dtype {entry['dtype']}, expected F32")
        begin, end = entry["data_offsets"]
        shape = tuple(entry["shape"])
        if end - begin != 4 * math.prod(shape) or end > len(data):
            fail(f"{path}: tensor {name} has inconsistent data_offsets")
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(shape)
    return tensors


class GPT2:
    """GPT-2 as Hugging Face lays it out: Conv1D weights are [in, out], so a projection is x @ W + b."""

    def __init__(self, config, arrays, dtype):
        self.config = config
        self.w = {name: torch.from_numpy(array.copy()).to(dtype) for name, array in arrays.items()}
        self.eps = config.get("layer_norm_epsilon", 1e-5)

    def layer_norm(self, x, prefix):
        return F.layer_norm(x, (x.shape[-1],), self.w[f"{prefix}.weight"], self.w[f"{prefix}.bias"], self.eps)

    def conv1d(self, x, prefix):
        return x @ self.w[f"{prefix}.weight"] + self.w[f"{prefix}.bias"]

    def attention(self, x, prefix):
        B, T, C = x.shape
        H = self.config["n_head"]
        q, k, v = self.conv1d(x, f"{prefix}.c_attn").split(C, dim=2)
        q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))  # [B, H, T, hs]
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)  # [B, H, T, T]
        causal = torch.ones(T, T, dtype=torch.bool).triu(1)
        weights = scores.masked_fill(causal, float("-inf")).softmax(dim=-1)
        y = (weights @ v).transpose(1, 2).reshape(B, T, C)
        return self.conv1d(y, f"{prefix}.c_proj")

    def embed(self, idx):
        T = idx.shape[1]
        return self.w["wte.weight"][idx] + self.w["wpe.weight"][torch.arange(T)]  # [B, T, C]

    def block(self, x, layer):
        h = f"h.{layer}"
        x = x + self.attention(self.layer_norm(x, f"{h}.ln_1"), f"{h}.attn")
        hidden = F.gelu(self.conv1d(self.layer_norm(x, f"{h}.ln_2"), f"{h}.mlp.c_fc"), approximate="tanh")
        return x + self.conv1d(hidden, f"{h}.mlp.c_proj")

    def head(self, x):
        x = self.layer_norm(x, "ln_f")
        head = self.w["wte.weight"] if self.config.get("tie_word_embeddings", True) else self.w["lm_head.weight"]
        return x @ head.T  # [B, T, V]

    def logits(self, idx):
        x = self.embed(idx)
        for layer in range(self.config["n_layer"]):
            x = self.block(x, layer)
        return self.head(x)


def transformers_model(checkpoint, dtype):
    """Hugging Face's own GPT-2 on the checkpoint; a missing, unexpected or mismatched key is an error."""
    try:
        from transformers import GPT2LMHeadModel
    except ImportError as error:
        fail(f"--transformers needs the transformers package ({error})")

    model, info = GPT2LMHeadModel.from_pretrained(checkpoint, output_loading_info=True)
    problems = {kind: keys for kind, keys in info.items() if keys}
    if problems:
        fail(f"transformers could not load {checkpoint} cleanly: {problems}")
    model = model.to(dtype).eval()
    return lambda idx: model(input_ids=idx).logits


def read_rows(path, config):
    with open(path, encoding="utf-8") as handle:
        rows = json.load(handle)
    if not isinstance(rows, list) or not rows or not all(isinstance(row, list) for row in rows):
        fail(f"{path} must hold a non-empty JSON array of token-id rows")
    length = len(rows[0])
    if length < 2 or any(len(row) != length for row in rows):
        fail(f"{path}: every row needs the same length T+1 >= 2")
    if length - 1 > config["n_positions"]:
        fail(f"{path}: rows of {length - 1} inputs exceed n_positions {config['n_positions']}")
    ids = torch.tensor(rows, dtype=torch.long)
    if ids.min() < 0 or ids.max() >= config["vocab_size"]:
        fail(f"{path}: token ids must lie in [0, {config['vocab_size']})")
    return ids


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("tokens")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--transformers", action="store_true", help="load with transformers.GPT2LMHeadModel")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with open(os.path.join(args.checkpoint, "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    dtype = getattr(torch, args.dtype)
    rows = read_rows(args.tokens, config)
    if args.transformers:
        logits_of = transformers_model(args.checkpoint, dtype)
    else:
        logits_of = GPT2(config, read_safetensors(os.path.join(args.checkpoint, "model.safetensors")), dtype).logits
    with torch.no_grad():
        logits = logits_of(rows[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1))
    print(json.dumps({"loss": loss.item()}))


if __name__ == "__main__":
    main()
