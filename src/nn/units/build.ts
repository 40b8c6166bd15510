/** Builds the model as pipeline units, all of them or only a contiguous range (one stage's share). */
import { UsageError } from '../../errors.js';
import { unitCount, validateConfig } from '../config.js';
import { createParameter, validateSeed } from '../init.js';
import type { GPTConfig } from '../parameter.js';
import { BlockUnit } from './block-unit.js';
import { EmbeddingUnit, embeddingLayouts } from './embedding-unit.js';
import { HeadUnit, headLayouts } from './head-unit.js';
import type { ParameterSpec, Unit } from './unit.js';

/** [first, last) over [embedding, h.0 .. h.L-1, head]; refuses an empty or out-of-bounds range. */
export function validateUnitRange(config: GPTConfig, range: readonly [number, number]): void {
  const [first, last] = range;
  const count = unitCount(config);
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last > count || first >= last) {
    throw new UsageError(`unit range [${first}, ${last}) must be a non-empty part of [0, ${count}) (embedding, ${config.layers} blocks, head)`);
  }
}

/**
 * The units with indices in [first, last) (default: all). Parameters depend only on (seed, name), so
 * units built in separate ranges hold bitwise the values of the whole model's.
 */
export function buildUnits(config: GPTConfig, seed: number, range?: readonly [number, number]): Unit[] {
  validateConfig(config);
  validateSeed(seed);
  const [first, last] = range ?? [0, unitCount(config)];
  validateUnitRange(config, [first, last]);
  const create = (specs: readonly ParameterSpec[]) => specs.map(({ name, shape, init }) => createParameter(name, shape, init, seed));
  const units: Unit[] = [];
  for (let index = first; index < last; index++) {
    if (index === 0) {
      const [tokenTable, positionTable] = create(embeddingLayouts(config).parameters);
      units.push(new EmbeddingUnit(config, tokenTable!, positionTable!));
    } else if (index === config.layers + 1) {
      // Tied: the head's own copy of wte.weight, initialised from the same (seed, name) as the embedding's.
      const [lnWeight, lnBias, outputWeight] = create(headLayouts(config).parameters);
      units.push(new HeadUnit(config, lnWeight!, lnBias!, outputWeight!));
    } else {
      units.push(new BlockUnit(config, index - 1, seed));
    }
  }
  return units;
}
