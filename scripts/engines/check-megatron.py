"""Runs Megatron-LM's own argument parser and validation over a launch.sh that `conveyor plan --export megatron` wrote.

usage: python check-megatron.py MEGATRON_LM_CHECKOUT launch.sh [--arch 9]
Sets the environment the script's export/unset lines set and WORLD_SIZE from its torchrun line, then runs
megatron.training.arguments.parse_args and validate_args, and builds the TransformerConfig from the result.
Prints one line per check; exits 1 on the first refusal. GPU-only imports are stubbed (stubs.py); --arch is the
compute capability major version Megatron's checks see (9 = Hopper, 10 = Blackwell).
"""
import os
import shlex
import sys

here = os.path.dirname(os.path.abspath(__file__))
checkout, launch = sys.argv[1], sys.argv[2]
arch = int(sys.argv[sys.argv.index('--arch') + 1]) if '--arch' in sys.argv else 9
sys.path.insert(0, here)
sys.path.insert(0, checkout)
import stubs  # noqa: E402

words = shlex.split(open(launch).read().replace('\\\n', ' '), comments=True)
# Environment lines: `export NAME=VALUE` and `unset NAME`, each a statement before torchrun.
i = 0
while words[i] != 'torchrun':
    if words[i] == 'export':
        name, value = words[i + 1].split('=', 1)
        os.environ[name] = value
        i += 2
    elif words[i] == 'unset':
        os.environ.pop(words[i + 1], None)
        i += 2
    else:
        raise SystemExit(f'unexpected word before torchrun: {words[i]}')
script = words.index('pretrain_gpt.py')
launcher = words[i + 1:script]
per_node = int(launcher[launcher.index('--nproc-per-node') + 1])
nodes = int(launcher[launcher.index('--nnodes') + 1])
os.environ['WORLD_SIZE'] = str(per_node * nodes)
flags = words[script + 1:]

stubs.install('megatron')
import megatron.training.arguments as arguments  # noqa: E402
from megatron.training.argument_utils import core_transformer_config_from_args  # noqa: E402

arguments.get_device_arch_version = lambda: arch
sys.argv = ['pretrain_gpt.py', *flags]
args = arguments.parse_args()
print(f'parse_args: {len(flags)} words accepted')
arguments.validate_args(args)
print(f'validate_args: passed (world {args.world_size}, data-parallel {args.data_parallel_size}, '
      f'CUDA_DEVICE_MAX_CONNECTIONS={os.environ.get("CUDA_DEVICE_MAX_CONNECTIONS")})')
# Fusions that need TransformerEngine, which a CPU machine lacks; a GPU launch keeps Megatron's defaults.
args.apply_rope_fusion = False
config = core_transformer_config_from_args(args)
print(f'TransformerConfig: built (tp {config.tensor_model_parallel_size}, pp {config.pipeline_model_parallel_size}, '
      f'vp {config.virtual_pipeline_model_parallel_size}, attention backend {config.attention_backend.name}, '
      f'recompute {config.recompute_granularity}, sequence parallel {config.sequence_parallel})')
