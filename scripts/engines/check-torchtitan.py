"""Loads the config function `conveyor plan --export torchtitan` wrote with torchtitan's own classes and checks it.

usage: python check-torchtitan.py TORCHTITAN_CHECKOUT EXPORT_DIR [--toml TORCHTITAN_V022_JOB_CONFIG_PY]
EXPORT_DIR holds conveyor_plan.py and run.sh. The script calls the function (torchtitan's base config function
included), rebuilds every config dataclass so its __post_init__ checks run as tyro's would, computes the pipeline
stages with torchtitan's own _get_pipeline_metadata and _generate_llm_fqn_per_model_part, repeats trainer.py's
token arithmetic, and checks each --section.option override names a field. With --toml it builds v0.2.2's JobConfig
sections from plan.toml. Packages a CPU machine lacks (tyro, spmd_types, grain, ...) are stubbed (stubs.py).
"""
import dataclasses
import importlib.util
import os
import shlex
import sys
import tomllib

here = os.path.dirname(os.path.abspath(__file__))
checkout, export = sys.argv[1], sys.argv[2]
sys.path.insert(0, here)
sys.path.insert(0, checkout)
import stubs  # noqa: E402

stubs.absent('tyro', 'spmd_types', 'torchao')  # torchao: fp8 converters build, without converting anything here
stubs.install('torchtitan')
import torchtitan.distributed.pipeline_parallel as pipeline  # noqa: E402
import torchtitan.components.quantization.float8 as float8  # noqa: E402

float8.has_cuda_capability = lambda major, minor: True  # the cluster's H100s, which this CPU machine is not

spec = importlib.util.spec_from_file_location('conveyor_plan', os.path.join(export, 'conveyor_plan.py'))
plan = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plan)
run = open(os.path.join(export, 'run.sh')).read()
launch = shlex.split(next(line for line in run.splitlines() if line.startswith('torchrun')))
function = getattr(plan, launch[launch.index('--config') + 1])
config = function()


def rebuilt(value):
    """The dataclass built again from its fields, so __post_init__ checks run on the values the function set."""
    return type(value)(**{f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.init})


config.training = rebuilt(config.training)
config.parallelism = rebuilt(config.parallelism)
config = rebuilt(config)
print(f'{function.__name__}(): {type(config).__qualname__} rebuilt, its __post_init__ checks passed')
training, parallelism = config.training, config.parallelism

dp = parallelism.data_parallel_replicate_degree * parallelism.data_parallel_shard_degree
world = dp * parallelism.tensor_parallel_degree * parallelism.pipeline_parallel_degree
if parallelism.pipeline_parallel_degree > 1:
    class Dims:
        pp = parallelism.pipeline_parallel_degree
    stages, layers, first, last = pipeline._get_pipeline_metadata(Dims(), parallelism, config.model_spec.model)
    parts = pipeline._generate_llm_fqn_per_model_part(stages, layers, first, last)
    sizes = [sum(name.startswith('layers.') for name in part) for part in parts]
    print(f'pipeline: {stages} stages over {Dims.pp} ranks, transformer layers per stage {sorted(set(sizes))} '
          f'(first stage {sizes[0]}, last {sizes[-1]}, {sum(sizes)} of {layers})')
microbatches = parallelism.num_pp_microbatches if parallelism.pipeline_parallel_degree > 1 else 1
per_rank = training.num_tokens_per_microbatch_per_dp_rank * microbatches
steps = training.num_tokens_per_train_step
assert steps % (per_rank * dp) == 0, 'num_tokens_per_train_step is not a multiple of one accumulation step'
print(f'trainer.py arithmetic: world {world}, dp {dp}, {microbatches} pipeline micro-batches of '
      f'{training.num_tokens_per_microbatch_per_dp_rank} tokens, {steps // (per_rank * dp)} accumulation steps; '
      f'activation_checkpoint {type(config.activation_checkpoint).__qualname__ if config.activation_checkpoint else None}')

override_line = next((line for line in run.splitlines() if '--module llama3' in line), None)
if override_line is not None:
    words = shlex.split(override_line.lstrip('# '))
    names = [word[2:] for word in words[words.index('--config') + 2:] if word.startswith('--')]
    for name in names:
        section, key = name.split('.')
        assert key in {f.name for f in dataclasses.fields(getattr(config, section))}, f'--{name} names no field'
    choice = words[-1]
    source = open(os.path.join(checkout, 'torchtitan/distributed/activation_checkpoint.py')).read()
    assert f'tyro.conf.subcommand("{choice.split(":")[1]}")' in source, f'{choice} is no subcommand'
    print(f'overrides: {len(names)} --section.option names are fields; {choice} is a subcommand')

if '--toml' in sys.argv:
    spec = importlib.util.spec_from_file_location('job_config_v022', sys.argv[sys.argv.index('--toml') + 1])
    old = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old)
    with open(os.path.join(export, 'plan.toml'), 'rb') as file:
        toml = tomllib.load(file)
    fields = {f.name: f for f in dataclasses.fields(old.JobConfig)}
    for section, values in toml.items():
        cls = fields[section].default_factory
        cls(**values)
    print(f'v0.2.2 JobConfig: sections {", ".join(toml)} built from plan.toml')
