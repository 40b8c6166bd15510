/** Readers of what users already have: Hugging Face model configs and the settings of Megatron-LM, DeepSpeed and torchtitan jobs. */
export { isHuggingFaceConfig, parseHuggingFaceConfig, parseModelFile } from './hugging-face.js';
export { parseMegatronArgs } from './megatron-args.js';
export { parseTorchtitanOverrides } from './torchtitan-overrides.js';
export { parseDeepspeedConfig } from './deepspeed-config.js';
export { importedConfig, type ImportContext, type ImportedJob } from './imported.js';
