// The --if-exists policies as a pure decision (remote/if-exists.ts): what each does with an empty
// key, the same bytes, other bytes and bytes that cannot be told; keep-both's names; the condition
// each write carries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HoistError } from '../../shared/errors.js';
import { decideAtKey, keptBothKey, writeCondition } from '../../src-main/engine/remote/if-exists.js';
import type { Comparison, RemoteObject } from '../../src-main/engine/remote/same-object.js';

const object: RemoteObject = { etag: '0123456789abcdef0123456789abcdef-3', size: 10, encryption: null, parts: 3, firstPartSize: 4, checksum: null };
const found = (verdict: Comparison['verdict']): Comparison => ({ verdict, why: 'because', remote: verdict === 'missing' ? null : object });

test('each policy at an empty key, the same bytes, other bytes and bytes that cannot be told', () => {
  const table = {
    'skip-identical': ['send created', 'already-there', 'send replaced', 'send replaced'],
    'keep-both': ['send created', 'already-there', 'next-key', 'next-key'],
    'never-overwrite': ['send created', 'already-there', 'refuse', 'refuse'],
  } as const;
  for (const [policy, expected] of Object.entries(table) as Array<[keyof typeof table, readonly string[]]>) {
    const got = (['missing', 'same', 'differs', 'cannot-tell'] as const).map((v) => {
      const d = decideAtKey(policy, found(v));
      return d.act === 'send' ? `send ${d.outcome}` : d.act;
    });
    assert.deepEqual(got, expected, policy);
  }
  const replace = decideAtKey('skip-identical', found('differs'));
  assert.deepEqual(replace, { act: 'send', keySeen: object.etag, outcome: 'replaced' }, 'the ETag seen is what the write is conditional on');
});

test('the write carries the condition of what the job saw: If-None-Match for an empty key, If-Match for the object it replaces, none for overwrite', () => {
  assert.deepEqual(writeCondition(''), { ifNoneMatch: '*' });
  assert.deepEqual(writeCondition('abc-2'), { ifMatch: 'abc-2' });
  assert.equal(writeCondition('*'), null);
  assert.equal(writeCondition(null), null);
});

test("keep-both's keys: ' (n)' before the last extension of the last segment", () => {
  assert.equal(keptBothKey('day01/A001_C003.mov', 1), 'day01/A001_C003 (1).mov');
  assert.equal(keptBothKey('day01/render.v2.mov', 2), 'day01/render.v2 (2).mov');
  assert.equal(keptBothKey('notes', 1), 'notes (1)');
  assert.equal(keptBothKey('dir.d/notes', 1), 'dir.d/notes (1)');
  assert.equal(keptBothKey('.hidden', 3), '.hidden (3)');
  assert.throws(() => keptBothKey(`${'k'.repeat(1020)}.mov`, 1), (e: HoistError) => e.code === 'limits.key-too-long');
});
