// The owed-work queue without a server: the store's claims and states, and the runner's one
// back-off (with jitter), give-up, order per scope and handlers per kind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from '../../src-main/engine/backoff.js';
import { OwedRunner, type OwedResult } from '../../src-main/engine/owed/runner.js';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { OwedWorkStore, type OwedItem } from '../../src-main/engine/store/owed-store.js';

function newStore(now: () => number = Date.now): OwedWorkStore {
  return new OwedWorkStore(openDatabase(':memory:').db, now);
}

const FAST = { baseDelayMs: 1_000, maxDelayMs: 8_000 };

/** Runs one pass of a kind (what a tick does), ignoring back-off. */
async function pass(runner: OwedRunner, kind: string): Promise<void> {
  await runner.drain(kind);
}

test('owing the same subject twice is one item; a replace with another payload starts its attempts over', () => {
  const store = newStore();
  const a = store.owe('remote-abort', 'u1', { uploadId: 'u1' }, { scope: 'destination:1' });
  assert.equal(store.owe('remote-abort', 'u1', { uploadId: 'u1', reason: 'again' }).id, a.id, 'kept as it was');
  assert.deepEqual(store.owed('remote-abort', 'u1')!.payload, { uploadId: 'u1' });
  store.retry(a.id, 'net.unreachable', Date.now() + 60_000);
  store.owe('source-cleanup', '1:a.mov', { inode: '1' }, { onConflict: 'replace' });
  const c = store.owed<{ inode: string }>('source-cleanup', '1:a.mov')!;
  store.retry(c.id, 'busy', 0);
  assert.equal(store.owe('source-cleanup', '1:a.mov', { inode: '1' }, { onConflict: 'replace' }).attempts, 1, 'the same debt keeps its count');
  assert.equal(store.owe('source-cleanup', '1:a.mov', { inode: '2' }, { onConflict: 'replace' }).attempts, 0, 'a newer version starts over');
  assert.deepEqual(store.counts(), [
    { kind: 'remote-abort', state: 'owed', n: 1 },
    { kind: 'source-cleanup', state: 'owed', n: 1 },
  ]);
  // Settled, the subject can be owed again (another upload of the same id would be a new debt).
  store.settle(a.id);
  assert.equal(store.owed('remote-abort', 'u1'), undefined);
  assert.notEqual(store.owe('remote-abort', 'u1', { uploadId: 'u1' }).id, a.id);
  assert.equal(store.list({ kind: 'remote-abort' }).length, 2, 'the settled one stays as a record');
});

test('a claim takes due items once: a second claimer skips them until the claim expires or is released', () => {
  let now = 1_000;
  const store = newStore(() => now);
  const later = store.owe('webhook', 'e2', {}, { availableAt: 5_000 });
  const due = store.owe('webhook', 'e1', {});
  assert.deepEqual(store.claim('webhook', 10, 'a', 60_000).map((i) => i.id), [due.id], 'only what is due');
  assert.deepEqual(store.claim('webhook', 10, 'b', 60_000), [], 'claimed by a');
  assert.deepEqual(store.claim('webhook', 10, 'b', 60_000, { all: true }).map((i) => i.id), [later.id], 'back-off or not, never a claimed one');
  now += 60_001;
  assert.deepEqual(store.claim('webhook', 10, 'b', 60_000).map((i) => i.id).sort(), [later.id, due.id].sort(), 'expired claims are free again');
  store.releaseClaims();
  assert.equal(store.claim('webhook', 10, 'c', 60_000).length, 2);
});

test('one item per scope at a time, oldest first, when the kind asks for order; scopes filter what is claimed', () => {
  const store = newStore();
  const a1 = store.owe('webhook', 'a1', {}, { scope: 'http://a' });
  store.owe('webhook', 'a2', {}, { scope: 'http://a' });
  const b1 = store.owe('webhook', 'b1', {}, { scope: 'http://b' });
  assert.deepEqual(store.claim('webhook', 10, 'x', 1, { inOrder: true }).map((i) => i.subject), ['a1', 'b1']);
  store.releaseClaims();
  assert.deepEqual(store.claim('webhook', 10, 'x', 1, { scopes: ['http://b'] }).map((i) => i.id), [b1.id]);
  store.releaseClaims();
  store.retry(a1.id, 'ECONNREFUSED', 0);
  assert.deepEqual(store.claim('webhook', 10, 'x', 60_000, { inOrder: true, scopes: ['http://a'] }).map((i) => i.subject), ['a1'], 'a2 waits behind a1, failed or not');
});

test('the runner retries a failed attempt after the one back-off, with jitter, and records attempts and the last error', async () => {
  const store = newStore();
  const randoms = [0, 1, 0.5];
  const runner = new OwedRunner(store, { random: () => randoms.shift() ?? 0 });
  const seen: Array<{ attempt: number; retryInMs: number | null }> = [];
  runner.register('flaky', {
    retry: FAST,
    handle: async (_item, ctx) => {
      seen.push({ attempt: ctx.attempt, retryInMs: ctx.retryInMs });
      return { outcome: 'failed', error: `try ${ctx.attempt}` };
    },
  });
  const item = store.owe('flaky', 's', {});
  for (let i = 0; i < 3; i++) {
    const before = Date.now();
    await pass(runner, 'flaky');
    const after = store.get(item.id)!;
    assert.equal(after.attempts, i + 1);
    assert.equal(after.lastError, `try ${i + 1}`);
    assert.equal(after.state, 'owed');
    const delay = seen[i]!.retryInMs!;
    assert.ok(after.availableAt >= before + delay && after.availableAt <= Date.now() + delay, 'next attempt after the back-off it announced');
  }
  // Equal jitter: between half the ceiling and the ceiling (1 s, 2 s, 4 s), as backoffDelay says for the same random numbers.
  assert.deepEqual(seen.map((s) => s.retryInMs), [500, 2_000, 3_000]);
  assert.deepEqual(seen.map((s) => s.retryInMs), [backoffDelay(1, FAST, () => 0), backoffDelay(2, FAST, () => 1), backoffDelay(3, FAST, () => 0.5)]);
  assert.deepEqual(seen.map((s) => s.attempt), [1, 2, 3]);
});

test('the runner gives up after the kind\'s attempts or age, and at once on a final failure; given-up items stay listed', async () => {
  const store = newStore();
  const runner = new OwedRunner(store);
  const results = new Map<string, OwedResult>([
    ['limited', { outcome: 'failed', error: 'SlowDown' }],
    ['final', { outcome: 'failed', error: 'config.invalid', final: true }],
  ]);
  const contexts: Array<number | null> = [];
  runner.register('limited', { retry: FAST, maxAttempts: 2, handle: async (_i, ctx) => (contexts.push(ctx.retryInMs), results.get('limited')!) });
  runner.register('final', { retry: FAST, handle: async () => results.get('final')! });
  runner.register('aged', { retry: FAST, giveUpAfterMs: 0, handle: async () => ({ outcome: 'failed', error: 'HTTP 500' }) });
  const limited = store.owe('limited', 'x', {});
  const final = store.owe('final', 'x', {});
  const aged = store.owe('aged', 'x', {}, {});
  await new Promise((r) => setTimeout(r, 5));
  await pass(runner, 'limited');
  assert.equal(store.get(limited.id)!.state, 'owed', 'one attempt of two');
  await pass(runner, 'limited');
  assert.deepEqual({ state: store.get(limited.id)!.state, attempts: store.get(limited.id)!.attempts, error: store.get(limited.id)!.lastError }, { state: 'given-up', attempts: 2, error: 'SlowDown' });
  assert.equal(contexts[1], null, 'the handler knew the second attempt was the last');
  await pass(runner, 'final');
  assert.equal(store.get(final.id)!.state, 'given-up');
  await pass(runner, 'aged');
  assert.equal(store.get(aged.id)!.state, 'given-up', 'owed longer than giveUpAfterMs');
  assert.ok(store.get(aged.id)!.settledAt !== null);
  assert.equal(store.count({ kind: 'limited', states: ['given-up'] }), 1);
});

test('each kind goes to its own handler; settled, dropped and not-yet items end as they should; stop waits for attempts under way', async () => {
  const store = newStore();
  const runner = new OwedRunner(store, { tickMs: 10 });
  const handled: string[] = [];
  let release!: () => void;
  const slow = new Promise<void>((r) => (release = r));
  const handle = (kind: string, result: OwedResult) => async (item: OwedItem) => {
    handled.push(`${kind}:${item.subject}`);
    if (kind === 'slow') await slow;
    return result;
  };
  runner.register('done', { retry: FAST, handle: handle('done', { outcome: 'settled' }) });
  runner.register('gone', { retry: FAST, handle: handle('gone', { outcome: 'dropped' }) });
  runner.register('wait', { retry: FAST, handle: handle('wait', { outcome: 'not-yet', retryInMs: 60_000 }) });
  const unregister = runner.register('slow', { retry: FAST, handle: handle('slow', { outcome: 'settled' }) });
  const done = store.owe('done', 'd', {});
  const gone = store.owe('gone', 'g', {});
  const wait = store.owe('wait', 'w', {});
  const slowItem = store.owe('slow', 's', {});
  store.owe('nobody', 'n', {});
  runner.start();
  for (let i = 0; i < 200 && !(store.get(done.id)?.state === 'done' && handled.includes('slow:s') && handled.includes('wait:w') && !store.get(gone.id)); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(store.get(done.id)!.state, 'done');
  assert.equal(store.get(done.id)!.attempts, 1, 'a delivered item counts its attempt');
  assert.equal(store.get(gone.id), undefined, 'a dropped item is removed');
  assert.equal(store.get(wait.id)!.attempts, 0, 'not ready is no failed attempt');
  assert.ok(store.get(wait.id)!.availableAt > Date.now() + 50_000);
  assert.ok(runner.busy('slow'));
  let stopped = false;
  const stopping = runner.stop().then(() => (stopped = true));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(stopped, false, 'stop waits for the attempt under way');
  release();
  await stopping;
  assert.equal(store.get(slowItem.id)!.state, 'done');
  assert.deepEqual(handled.filter((h) => h.startsWith('nobody')), [], 'a kind without a handler is left owed');
  assert.equal(store.owed('nobody', 'n')!.state, 'owed');
  await unregister();
  assert.throws(() => runner.register('done', { retry: FAST, handle: handle('done', { outcome: 'settled' }) }), /has a handler already/);
});

test('done items older than the bound are pruned at start and while the runner runs; newer ones, given-up and owed ones are kept', async () => {
  const DAY = 24 * 60 * 60_000;
  let clock = Date.now() - 40 * DAY;
  const store = newStore(() => clock);
  const oldDone = store.owe('k', 'old-done', {});
  store.settle(oldDone.id);
  const oldGivenUp = store.owe('k', 'old-given-up', {});
  store.giveUp(oldGivenUp.id, 'refused');
  const oldOwed = store.owe('nobody', 'old-owed', {});
  clock = Date.now() - DAY;
  const newDone = store.owe('k', 'new-done', {});
  store.settle(newDone.id);
  const runner = new OwedRunner(store, { tickMs: 10, keepDoneMs: 30 * DAY, pruneEveryMs: 10 });
  runner.start();
  try {
    assert.equal(store.get(oldDone.id), undefined, 'done 40 days ago: pruned at start');
    assert.equal(store.get(newDone.id)?.state, 'done', 'done a day ago: kept');
    assert.equal(store.get(oldGivenUp.id)?.state, 'given-up', 'given up: kept, a person may retry it');
    assert.equal(store.get(oldOwed.id)?.state, 'owed', 'still owed: kept');
    clock = Date.now() - 31 * DAY;
    const later = store.owe('k', 'settled-while-running', {});
    store.settle(later.id);
    for (let i = 0; i < 500 && store.get(later.id); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(store.get(later.id), undefined, 'pruned by a later pass, not only at start');
  } finally {
    await runner.stop();
  }
});

test('pruneSettled removes every old done item across slices and says how many', () => {
  let clock = 1_000;
  const store = newStore(() => clock);
  for (let i = 0; i < 7; i++) store.settle(store.owe('k', `s${i}`, {}).id);
  clock = 5_000;
  store.settle(store.owe('k', 'kept', {}).id);
  assert.equal(store.pruneSettled(2_000, 2), 7);
  assert.deepEqual(store.list({ kind: 'k' }).map((o) => o.subject), ['kept']);
});
