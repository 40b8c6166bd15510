/** The engine code each exporter's flags and keys were read from and checked against (scripts/engines/). */
export interface EngineSource {
  /** The engine as users know it, with the version its code declares. */
  readonly engine: string;
  readonly repository: string;
  /** The commit read, and its date. */
  readonly commit: string;
  readonly date: string;
  /** The files whose flags, keys and checks the export follows. */
  readonly files: readonly string[];
}

export const engineSources = {
  megatron: {
    engine: 'Megatron-LM (megatron-core 0.20.0, main)',
    repository: 'NVIDIA/Megatron-LM',
    commit: 'd98e8a64ddf34856e74b24714e3bedb2f5a39553',
    date: '2026-08-22',
    files: [
      'megatron/training/arguments.py',
      'megatron/core/transformer/transformer_config.py',
      'megatron/core/model_parallel_config.py',
      'megatron/core/transformer/enums.py',
    ],
  },
  deepspeed: {
    engine: 'DeepSpeed 0.19.6',
    repository: 'deepspeedai/DeepSpeed',
    commit: 'edaa7221267243c7be7fb49c5d5f5c4fb97b4641',
    date: '2026-08-22',
    files: [
      'deepspeed/runtime/config.py',
      'deepspeed/runtime/engine.py',
      'deepspeed/runtime/pipe/engine.py',
      'deepspeed/runtime/pipe/module.py',
      'deepspeed/runtime/pipe/topology.py',
      'deepspeed/runtime/zero/config.py',
      'deepspeed/runtime/tensor_parallel/config.py',
      'deepspeed/utils/groups.py',
    ],
  },
  torchtitan: {
    engine: 'torchtitan (main, after v0.2.2)',
    repository: 'pytorch/torchtitan',
    commit: 'b5bcd76c66d0acb1a08b176d9639425bc55e0b2a',
    date: '2026-08-21',
    files: [
      'torchtitan/config/configs.py',
      'torchtitan/config/manager.py',
      'torchtitan/trainer.py',
      'torchtitan/distributed/pipeline_parallel.py',
      'torchtitan/distributed/activation_checkpoint.py',
      'torchtitan/models/llama3/config_registry.py',
      'torchtitan/models/llama3/parallelize.py',
    ],
  },
  'torchtitan-toml': {
    engine: 'torchtitan v0.2.2 (the last release that reads TOML)',
    repository: 'pytorch/torchtitan',
    commit: '73a0e6979dd10b6b1904098eb3c8f62c18ab87ce',
    date: '2026-02-20',
    files: [
      'torchtitan/config/job_config.py',
      'torchtitan/models/llama3/infra/parallelize.py',
      'torchtitan/distributed/pipeline_parallel.py',
    ],
  },
} as const satisfies Record<string, EngineSource>;

export type ExportEngine = keyof typeof engineSources;
export const exportEngines = Object.keys(engineSources) as ExportEngine[];

/** One line naming what an export was checked against, for the export's own header. */
export const checkedAgainst = (engine: ExportEngine): string => {
  const source: EngineSource = engineSources[engine];
  return `checked against ${source.engine}, ${source.repository}@${source.commit.slice(0, 10)} (${source.date})`;
};
