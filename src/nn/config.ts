/** Checks on a GPTConfig and the list of pipeline units it implies: [embedding, h.0 .. h.L-1, head]. */
import { UsageError } from '../errors.js';
import type { GPTConfig } from './parameter.js';

function requirePositiveInteger(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${what} must be a positive integer, got ${value}`);
}

/** Throws a UsageError naming the first field that cannot describe a GPT-2 model. */
export function validateConfig(config: GPTConfig): void {
  requirePositiveInteger(config.vocabSize, 'vocabulary size');
  requirePositiveInteger(config.blockSize, 'block size (longest sequence)');
  requirePositiveInteger(config.layers, 'number of layers');
  requirePositiveInteger(config.embd, 'embedding width');
  requirePositiveInteger(config.heads, 'number of heads');
  if (config.embd % config.heads !== 0) {
    throw new UsageError(`embedding width ${config.embd} must be divisible by the number of heads ${config.heads}`);
  }
}

/** Units in the whole model: the embedding, one per block, and the head. */
export function unitCount(config: GPTConfig): number {
  return config.layers + 2;
}

/** 'embedding', 'h.N' (the block's Hugging Face prefix) or 'head' for unit `index`. */
export function unitName(config: GPTConfig, index: number): string {
  if (index === 0) return 'embedding';
  if (index === config.layers + 1) return 'head';
  return `h.${index - 1}`;
}
