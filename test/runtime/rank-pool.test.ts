import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mailbox } from '../../src/runtime/mailbox.js';
import { RankFailedError, RankPool } from '../../src/runtime/rank-pool.js';
import type { DriverMessage, RankReply } from '../../src/runtime/protocol.js';
import type { RankLinkEvents, RankLinks } from '../../src/runtime/transport.js';

/** Links to ranks that exist only as the test's hands: it replies and loses ranks itself. */
class FakeLinks implements RankLinks {
  readonly kind = 'fake';
  readonly hosts = ['a', 'b'];
  readonly size = 2;
  events!: RankLinkEvents;
  sent: [number, DriverMessage][] = [];
  closedWith: (number | undefined)[] = [];
  listen(events: RankLinkEvents): void {
    this.events = events;
  }
  send(rank: number, message: DriverMessage): void {
    this.sent.push([rank, message]);
  }
  async close(failedRank?: number): Promise<void> {
    this.closedWith.push(failedRank);
  }
}

test('a mailbox hands each message over once, early or late, and says what is left', async () => {
  const mailbox = new Mailbox();
  mailbox.deliver('activation:1:0', Float32Array.of(1));
  const late = mailbox.receive('gradient:0:0');
  mailbox.deliver('gradient:0:0', Float32Array.of(2));
  assert.deepEqual([...(await mailbox.receive('activation:1:0'))], [1]);
  assert.deepEqual([...(await late)], [2]);
  mailbox.deliver('tied-gradient:3:0', Float32Array.of(3));
  assert.throws(() => mailbox.deliver('tied-gradient:3:0', Float32Array.of(3)), /arrived twice/);
  void mailbox.receive('reduce:0:1');
  assert.deepEqual(mailbox.pending(), ['tied-gradient:3:0', 'awaited reduce:0:1']);
});

test('the pool hands each rank its reply of the awaited type, and names a rank that answers out of turn', async () => {
  const links = new FakeLinks();
  const pool = new RankPool(links, { stallSeconds: 60 });
  const both = pool.receiveAll('applied');
  links.events.reply(1, { type: 'applied' });
  links.events.reply(0, { type: 'progress', progress: { phase: 'step', step: 1, waiting: false, finished: 3 } });
  links.events.reply(0, { type: 'applied' });
  assert.deepEqual(await both, [{ type: 'applied' }, { type: 'applied' }]);
  const waiting = pool.receive(0, 'loaded');
  links.events.reply(0, { type: 'evaluated', losses: [] } satisfies RankReply);
  await assert.rejects(waiting, (error: Error) => error instanceof RankFailedError && error.message === "rank 0 failed at step 1, between actions: replied 'evaluated' where 'loaded' was due");
  assert.deepEqual(links.closedWith, [0], 'a failure stops every rank, naming the one that failed');
});

test('a lost rank, or a peer reporting it lost, fails every wait with where that rank stood', async () => {
  const links = new FakeLinks();
  const pool = new RankPool(links, { nameHosts: true });
  links.events.reply(1, { type: 'progress', progress: { phase: 'step', step: 2, action: { kind: 'B', stage: 1, microbatch: 3 }, waiting: false, finished: 9 } });
  const waiting = pool.receiveAll('stepDone');
  links.events.reply(0, { type: 'peerLost', peer: 1, reason: 'its connection to rank 0 closed: the process exited or was killed' });
  await assert.rejects(waiting, (error: Error) => error.message === 'rank 1 on b failed at step 2, stage 1, B micro-batch 3: its connection to rank 0 closed: the process exited or was killed');
  await assert.rejects(pool.receive(0, 'applied'), RankFailedError);
  assert.throws(() => pool.send(0, { type: 'collect' }), RankFailedError);
});
