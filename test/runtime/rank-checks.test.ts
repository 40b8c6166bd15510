import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSchedule, lowerSchedule } from '../../src/schedule/index.js';
import { Rank } from '../../src/runtime/rank.js';
import type { PeerMessage, RankReply, RankSetup } from '../../src/runtime/protocol.js';
import type { Transport, TransportEvents } from '../../src/runtime/transport.js';

/** A transport that only records: what the rank replied and which peers it dropped. */
class Recorder implements Transport {
  readonly kind = 'recorder';
  events!: TransportEvents;
  replies: RankReply[] = [];
  dropped: string[] = [];
  listen(events: TransportEvents): void {
    this.events = events;
  }
  send(): void {}
  reply(message: RankReply): void {
    this.replies.push(message);
  }
  drop(peer: number, reason: string): void {
    this.dropped.push(`${peer}: ${reason}`);
  }
  exit(): void {}
  close(): void {}
}

test('a rank takes only the messages its lowered list receives, once each and in the shape expected; anything else drops the peer', async () => {
  const schedule = generateSchedule('1f1b', { ranks: 2, microbatches: 2 });
  const lowered = lowerSchedule(schedule, { replicas: 1, tiedEmbedding: true });
  const config = { vocabSize: 13, blockSize: 8, layers: 2, embd: 16, heads: 2, tied: true };
  const setup: RankSetup = {
    config, seed: 1, microbatchSize: 2, seqLen: 8, microbatches: 2, recompute: false, weightDecay: 0.1,
    placement: schedule.placement, topology: { pipelineRanks: 2, replicas: 1 }, stages: [{ stage: 1, units: [2, 4] }],
    order: lowered.order[1]!, evaluationOrder: [], evaluationMicrobatches: 1, lossScale: 0.5, pollMs: 0,
  };
  const transport = new Recorder();
  const rank = new Rank(transport, 1);
  transport.events.control({ type: 'build', setup });
  while (!transport.replies.some((reply) => reply.type === 'ready')) await new Promise((resolve) => setImmediate(resolve));
  const activation = (microbatch: number, shape: number[], values = 2 * 8 * 16): PeerMessage => ({ payload: 'activation', stage: 1, microbatch, shape, data: new Float32Array(values) });
  transport.events.message(0, activation(0, [2, 8, 16]));
  assert.deepEqual(transport.dropped, []);
  transport.events.message(0, activation(0, [2, 8, 16]));
  transport.events.message(0, activation(1, [2, 16, 8]));
  transport.events.message(0, activation(5, [2, 8, 16]));
  transport.events.message(0, { payload: 'tied-gradient', stage: 0, microbatch: 0, shape: [13, 16], data: new Float32Array(10) });
  assert.deepEqual(transport.dropped, [
    '0: rank 0 sent activation:1:0 twice',
    '0: rank 0 sent an activation of shape [2, 16, 8] (256 values) where [2, 8, 16] was expected',
    '0: rank 0 sent an activation for stage 1, micro-batch 5, which rank 1 never receives',
    '0: rank 0 sent a tied embedding gradient of shape [13, 16] (10 values) where [13, 16] was expected',
  ]);
  rank.close();
});
