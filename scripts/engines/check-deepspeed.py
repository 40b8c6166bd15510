"""Checks the ds_config.json and train.py that `conveyor plan --export deepspeed` wrote against DeepSpeed's code.

usage: python check-deepspeed.py DEEPSPEED_CHECKOUT EXPORT_DIR GPUS
DeepSpeedConfig itself needs pydantic 2, which this machine cannot install, so the script reads DeepSpeed's source
instead: every JSON key must be a constant or a config-model field DeepSpeed reads; PipelineModule must take each
keyword train.py passes; the topology train.py builds is made with DeepSpeed's own topology.py, and the batch
assertion of DeepSpeedConfig._batch_assertion is evaluated with that topology's data-parallel size.
"""
import ast
import json
import os
import re
import sys
import importlib.util

here = os.path.dirname(os.path.abspath(__file__))
checkout, export, gpus = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, here)
import stubs  # noqa: E402

read = lambda path: open(os.path.join(checkout, path)).read()  # noqa: E731


def class_fields(path, name):
    """Annotated field names of one class in a DeepSpeed source file."""
    tree = ast.parse(read(path))
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == name)
    return {s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)}


constants = ''.join(read(path) for path in (
    'deepspeed/runtime/constants.py', 'deepspeed/runtime/config.py', 'deepspeed/runtime/zero/config.py',
    'deepspeed/runtime/tensor_parallel/init_utils.py', 'deepspeed/runtime/activation_checkpointing/config.py'))
readers = {
    'bf16': class_fields('deepspeed/runtime/precision_config.py', 'DeepSpeedBF16Config'),
    'fp16': class_fields('deepspeed/runtime/precision_config.py', 'DeepSpeedFP16Config'),
    'zero_optimization': class_fields('deepspeed/runtime/zero/config.py', 'DeepSpeedZeroConfig'),
    'tensor_parallel': class_fields('deepspeed/runtime/tensor_parallel/config.py', 'TPTrainingConfig'),
    # Keys of `pipeline` the pipeline engine reads from its config dict.
    'pipeline': set(re.findall(r"_config\.pipeline(?:\.get\()?\[?'(\w+)'", read('deepspeed/runtime/pipe/engine.py'))),
}
config = json.load(open(os.path.join(export, 'ds_config.json')))
for key, value in config.items():
    assert f'"{key}"' in constants or f"'{key}'" in constants, f'{key} is no key DeepSpeed defines'
    for inner in value if isinstance(value, dict) else []:
        known = readers.get(key)
        ok = inner in known if known is not None else (f'"{inner}"' in constants or f"'{inner}'" in constants)
        assert ok, f'{key}.{inner} is not read by DeepSpeed'
print(f'ds_config.json: {sum(1 + (len(v) if isinstance(v, dict) else 0) for v in config.values())} keys, each one DeepSpeed reads')

train = open(os.path.join(export, 'train.py')).read()
module = ast.parse(read('deepspeed/runtime/pipe/module.py'))
init = next(n for n in ast.walk(module) if isinstance(n, ast.ClassDef) and n.name == 'PipelineModule')
init = next(n for n in init.body if isinstance(n, ast.FunctionDef) and n.name == '__init__')
parameters = {a.arg for a in init.args.args + init.args.kwonlyargs}
call = re.search(r'PipelineModule\((.*?)\)\n', train, re.S)
data_parallel = gpus
if call is not None:
    used = set(re.findall(r'(\w+)=', call.group(1)))
    assert used <= parameters, f'PipelineModule takes no {used - parameters}'
    stubs.absent('deepspeed')
    spec = importlib.util.spec_from_file_location('topology', os.path.join(checkout, 'deepspeed/runtime/pipe/topology.py'))
    topology_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(topology_module)
    built = re.search(r'topology = (\w+)\((.*?)\)', train)
    topology = getattr(topology_module, built.group(1))(**{k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', built.group(2))})
    assert topology.world_size() == gpus, f'the topology covers {topology.world_size()} ranks, not {gpus}'
    data_parallel = topology.get_dim('data')
    print(f'train.py: PipelineModule({", ".join(sorted(used))}) keywords exist; {built.group(1)} covers {gpus} ranks, '
          f'{topology.get_dim("pipe")} stages × {data_parallel} data-parallel')
elif 'tensor_parallel' in config:
    data_parallel = gpus // config['tensor_parallel']['autotp_size']  # AutoTP's (data, tensor) mesh, utils/groups.py
train_batch, micro, accumulation = config['train_batch_size'], config['train_micro_batch_size_per_gpu'], config['gradient_accumulation_steps']
assert train_batch == micro * accumulation * data_parallel, f'{train_batch} != {micro} * {accumulation} * {data_parallel}'
print(f'batch assertion: {train_batch} == {micro} * {accumulation} * {data_parallel}')
