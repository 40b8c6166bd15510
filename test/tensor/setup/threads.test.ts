import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { resolveKernelSettings } from '../../../src/tensor/index.js';
import { assertBitwiseEqual } from '../ops/helpers.js';

const native = resolveKernelSettings();
const skip = native.backend === 'native' ? false : 'the native kernels are not built here';

/**
 * Every kernel on shapes large enough to be split over the team (ragged, so the ranges do not divide
 * evenly), computed in a worker whose kernels run on `threads` threads; the outputs come back as copies.
 */
function runKernels(threads: number): Promise<Record<string, Float32Array | number>> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.helpers).then(async ({ randomArray, randomIds }) => {
      const t = await import(workerData.facade);
      t.configureKernels({ backend: 'native', threads: workerData.threads });
      const out = {};
      const keep = (name, array) => (out[name] = array.slice());
      const [M, K, N] = [131, 263, 141];
      const a = randomArray(M * K, 1), b = randomArray(K * N, 2), c = randomArray(M * N, 3);
      for (const [name, options] of [['ab', {}], ['abt', { transB: true }], ['atb', { transA: true, accumulate: true }]]) {
        const product = c.slice();
        t.matmul(product, a, b, M, K, N, options);
        keep(name, product);
      }
      const n = 50_001;
      const x = randomArray(n, 4, 4);
      const gelu = new Float32Array(n), derivative = new Float32Array(n);
      t.geluForward(gelu, derivative, x, n);
      keep('gelu', gelu); keep('geluDerivative', derivative);
      const [rows, C] = [1003, 77];
      const inp = randomArray(rows * C, 5, 2), weight = randomArray(C, 6), bias = randomArray(C, 7), dy = randomArray(rows * C, 8);
      const ln = new Float32Array(rows * C), mean = new Float32Array(rows), rstd = new Float32Array(rows);
      t.layerNormForward(ln, mean, rstd, inp, weight, bias, rows, C);
      const dx = randomArray(rows * C, 9), dw = new Float32Array(C), db = new Float32Array(C);
      t.layerNormBackwardInput(dx, dy, inp, weight, mean, rstd, rows, C);
      t.layerNormBackwardWeight(dw, db, dy, inp, mean, rstd, rows, C);
      keep('layerNorm', ln); keep('layerNormDx', dx); keep('layerNormDw', dw); keep('layerNormDb', db);
      const dbias = randomArray(1000, 10);
      t.biasBackward(dbias, randomArray(500 * 1000, 11), 500, 1000);
      keep('biasBackward', dbias);
      const [B, T, E, NH] = [2, 33, 24, 3];
      const qkv = randomArray(B * T * 3 * E, 12, 1.5), y = new Float32Array(B * T * E);
      const heads = new Float32Array(3 * B * T * E), att = new Float32Array(B * NH * T * T), dqkv = new Float32Array(B * T * 3 * E);
      const scratch = { headRows: new Float32Array(T * 8), headRowsGrad: new Float32Array(T * 8), scoresGrad: new Float32Array(T * T) };
      t.attentionForward(y, heads, att, qkv, scratch, B, T, E, NH);
      t.attentionBackward(dqkv, randomArray(B * T * E, 13), heads, att, scratch, B, T, E, NH);
      keep('attention', y); keep('attentionGrad', dqkv);
      const [sr, sc] = [2000, 37];
      const scores = randomArray(sr * sc, 14, 3), probabilities = new Float32Array(sr * sc), dscores = randomArray(sr * sc, 15);
      t.softmaxForward(probabilities, scores, sr, sc, 0.7, true);
      t.softmaxBackward(dscores, probabilities, dscores, sr, sc, 0.7, true);
      keep('softmax', probabilities); keep('softmaxGrad', dscores);
      const [rowsCE, V] = [3001, 17];
      const logits = randomArray(rowsCE * V, 16, 4), targets = randomIds(rowsCE, V, 17);
      out.loss = t.crossEntropyForward(logits, logits, targets, rowsCE, V);
      t.crossEntropyBackward(logits, logits, targets, rowsCE, V, 0.5 / rowsCE);
      keep('crossEntropyGrad', logits);
      const [EB, ET, EC, EV] = [4, 50, 300, 11];
      const tokens = randomIds(EB * ET, EV, 18), wte = randomArray(EV * EC, 19), wpe = randomArray(ET * EC, 20);
      const embedded = new Float32Array(EB * ET * EC), dwte = new Float32Array(EV * EC), dwpe = new Float32Array(ET * EC);
      t.embeddingForward(embedded, tokens, wte, wpe, EB, ET, EC);
      t.embeddingBackward(dwte, dwpe, randomArray(EB * ET * EC, 21), tokens, EB, ET, EC);
      keep('embedding', embedded); keep('embeddingDwte', dwte); keep('embeddingDwpe', dwpe);
      const param = randomArray(n, 22), m = new Float32Array(n), v = new Float32Array(n);
      t.adamwUpdate(param, randomArray(n, 23, 0.3), m, v, n, 1, 0.5, { learningRate: 1e-2, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1 });
      keep('adamw', param);
      out.squares = t.sumOfSquares(randomArray(100_003, 24), 100_003);
      parentPort.postMessage(out);
    });`;
  const worker = new Worker(source, {
    eval: true,
    workerData: {
      threads,
      facade: new URL('../../../src/tensor/index.js', import.meta.url).href,
      helpers: new URL('../ops/helpers.js', import.meta.url).href,
    },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', (message) => void worker.terminate().then(() => resolve(message)));
    worker.once('error', reject);
  });
}

test('native kernels give the same bits on 1, 2 and 3 threads, and on every run', { skip }, async () => {
  const single = await runKernels(1);
  for (const threads of [3, 2, 3]) {
    const team = await runKernels(threads);
    assert.deepEqual(Object.keys(team), Object.keys(single));
    for (const [name, value] of Object.entries(single)) {
      const other = team[name]!;
      if (typeof value === 'number') assert.equal(other, value, `${name} on ${threads} threads`);
      else assertBitwiseEqual(other as Float32Array, value, `${name} on ${threads} threads`);
    }
  }
});
