import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { UsageError } from '../src/errors.js';
import { parseCluster, parseEstimateConfig, parseHardware } from '../src/planner/index.js';
import { printable, quote } from '../src/quote.js';
import { describeZodError } from '../src/zod-message.js';

function message(schema: z.ZodType, input: unknown): string {
  const parsed = schema.safeParse(input);
  assert.ok(!parsed.success, 'the input must be refused');
  return describeZodError(parsed.error, input, schema);
}

const usageMessage = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    return error.message;
  }
  assert.fail('expected a UsageError');
};

test('each kind of zod issue names the field, what it accepts and what it got', () => {
  const shape = z.strictObject({
    kind: z.enum(['gpt', 'llama']),
    zero: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
    layers: z.number().int().positive(),
    rate: z.number().gt(0).lte(1).default(0.5),
    names: z.array(z.string()).min(1).optional(),
  });
  const good = { kind: 'gpt', layers: 2 };
  assert.equal(message(shape, { ...good, kind: 'mamba' }), 'kind: expected "gpt" or "llama", got "mamba"');
  assert.equal(message(shape, { ...good, zero: 5 }), 'zero: expected 0, 1 or 2, got 5');
  assert.equal(message(shape, { ...good, layers: '4' }), 'layers: expected a whole number, got "4"');
  assert.equal(message(shape, { ...good, layers: 1.5 }), 'layers: expected a whole number, got 1.5');
  assert.equal(message(shape, { ...good, layers: 0 }), 'layers: expected a whole number ≥ 1, got 0');
  assert.equal(message(shape, { ...good, rate: 2 }), 'rate: expected a number ≤ 1, got 2');
  assert.equal(message(shape, { ...good, names: [] }), 'names: expected at least 1 item, got 0');
  assert.equal(message(shape, { ...good, names: ['a', 7] }), 'names[1]: expected a string, got 7');
  assert.equal(message(shape, { ...good, colour: 'red' }), 'unknown field "colour"; the fields are kind, zero, layers, rate, names');
  assert.equal(message(shape, {}), 'missing kind ("gpt" or "llama") and layers (a whole number)');
  assert.equal(message(shape, []), 'expected an object, got a list');
});

test('a union names the branch the input was meant for, or every branch when none fits', () => {
  const entry = z.strictObject({ id: z.string(), memory: z.number().positive() });
  const file = z.union([entry, z.array(entry).min(1), z.strictObject({ gpus: z.array(entry).min(1) })]);
  assert.equal(message(file, { id: 'x' }), 'memory is missing (a number)');
  assert.equal(message(file, { id: 'x', memory: '80' }), 'memory: expected a number, got "80"');
  assert.equal(message(file, { gpus: [{ id: 'x', memory: -1 }] }), 'gpus[0].memory: expected a number > 0, got -1');
  assert.equal(message(file, 'h100'), 'expected an object or a list, got "h100"');
  const model = z.object({ model: z.union([z.string(), z.strictObject({ architecture: z.enum(['gpt', 'llama']) })]) });
  assert.equal(message(model, { model: { architecture: 'mamba' } }), 'model.architecture: expected "gpt" or "llama", got "mamba"');
});

test('the planner files say which field is wrong and what it accepts (issue 14, item 12)', () => {
  const config = {
    model: { architecture: 'gpt', layers: 2, hidden: 64, heads: 2, seqLength: 128, vocab: 100 },
    cluster: { gpu: 'h100-sxm', gpus: 8 },
    parallel: { tp: 1, pp: 1, microBatchSize: 1, globalBatchSize: 8, recompute: 'none' },
  };
  const estimate = (value: unknown) => usageMessage(() => parseEstimateConfig(JSON.stringify(value), 'job.json'));
  assert.equal(estimate({ ...config, model: { ...config.model, architecture: 'mamba' } }), 'job.json: model.architecture: expected "gpt" or "llama", got "mamba"');
  assert.equal(estimate({ ...config, parallel: { ...config.parallel, zero: 5 } }), 'job.json: parallel.zero: expected 0, 1, 2 or 3, got 5');
  const gpu = { id: 'mine', peakTflopsBf16: 500, memoryGiB: 80, memoryBandwidthGBs: 3000, intraNodeBandwidthGBs: 400, gpusPerNode: 8, interNodeBandwidthGBs: 50 };
  const hardware = (value: unknown) => usageMessage(() => parseHardware(JSON.stringify(value), 'gpu.json'));
  assert.equal(hardware({ ...gpu, peakTflopsBf16: '500' }), 'hardware file gpu.json: peakTflopsBf16: expected a number, got "500"');
  assert.equal(
    hardware({ id: 'mine' }),
    'hardware file gpu.json: missing peakTflopsBf16 (a number), memoryGiB (a number), memoryBandwidthGBs (a number), ' +
      'intraNodeBandwidthGBs (a number), gpusPerNode (a whole number) and interNodeBandwidthGBs (a number)',
  );
  const cluster = (value: unknown) => usageMessage(() => parseCluster(value, 'two.json'));
  const shape = '; a cluster file is { "groups": [{ "gpu", "gpus", "nodes"? }], "interGroupBandwidthGBs", "interGroupLatencyUs"? }';
  assert.equal(cluster({ groups: [{ gpu: 'h100-sxm', gpus: '8' }], interGroupBandwidthGBs: 12.5 }), `cluster file two.json: groups[0].gpus: expected a whole number, got "8"${shape}`);
  assert.equal(cluster({ groups: [{ gpu: 'h100-sxm', gpus: 8 }] }), `cluster file two.json: interGroupBandwidthGBs is missing (a number)${shape}`);
});

test('echoed user text is short and printable', () => {
  assert.equal(printable('a\u0000b\u001b[31mc\n'), 'a\\u0000b\\u001b[31mc\\n');
  assert.equal(printable('\u202Eevil'), '\\u202eevil'); // a bidirectional override would reorder the line
  assert.equal(printable('\uFFFD'), '\\ufffd');
  assert.equal(quote('x'.repeat(100)), `'${'x'.repeat(40)}…'`);
  assert.equal(quote('naïve 日本'), "'naïve 日本'");
});
