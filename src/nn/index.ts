/** The model side's public face: what the runtime, the trainer and the checkpoint code import. */
export type { GPTConfig, Parameter } from './parameter.js';
export { unitCount, unitName, validateConfig } from './config.js';
export { createParameter, GPT2_INIT_STD, validateSeed } from './init.js';
export type { MicroBatch, StashBytes, Unit, UnitKind } from './units/unit.js';
export { buildUnits, validateUnitRange } from './units/build.js';
export { EmbeddingUnit } from './units/embedding-unit.js';
export { BlockUnit } from './units/block-unit.js';
export { HeadUnit } from './units/head-unit.js';
export { buildSegment, ModelSegment } from './segment.js';
export { addTiedGradient, findTiedParameters, sumTiedGradients } from './tied.js';
export { clipScale, globalGradientNorm, gradientSquareSums, zeroGradients, type GradientSquareSum } from './gradients.js';
export { AdamW, decays, type AdamWOptions, type Moments, type OptimizerState } from './optimizer.js';
