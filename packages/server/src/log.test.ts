/**
 * The server log limits each message's lines: an attack that multiplies a line (an alert per address, a failing
 * request) cannot fill the disk, and what was left out is counted and told.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from './log.js';

function capture(options: { maxLinesPerMessage: number; windowMillis?: number; now?: () => number }) {
  const lines: Record<string, unknown>[] = [];
  const suppressed: string[] = [];
  const log = createLogger({
    ...options,
    write: (line) => lines.push(JSON.parse(line)),
    onSuppressed: (msg) => suppressed.push(msg),
  });
  return { log, lines, suppressed };
}

test('beyond its limit a message is left out, counted, and told when its window ends', () => {
  let clock = Date.UTC(2026, 10, 27, 9);
  const { log, lines, suppressed } = capture({ maxLinesPerMessage: 3, now: () => clock });
  for (let i = 0; i < 10; i++) log.warn('alert firing', { n: i });
  log.info('vigil started');
  assert.deepEqual(
    lines.map((l) => `${l.msg} ${l.n ?? ''}`),
    ['alert firing 0', 'alert firing 1', 'alert firing 2', 'vigil started '],
    'other messages are not limited by this one',
  );
  assert.equal(suppressed.length, 7);
  assert.ok(suppressed.every((m) => m === 'alert firing'));

  clock += 60_000;
  log.warn('alert firing', { n: 10 });
  assert.deepEqual(lines.slice(4), [
    {
      time: new Date(clock).toISOString(),
      level: 'warn',
      msg: 'log lines suppressed',
      message: 'alert firing',
      suppressed: 7,
      limit: 3,
      windowMillis: 60_000,
    },
    { time: new Date(clock).toISOString(), level: 'warn', msg: 'alert firing', n: 10 },
  ]);
});

test('the count is told when the window ends even if the message never comes again', async () => {
  // The test's clock: on the wall clock, the process paused 40 ms between two of the calls below would end the
  // window between them. The window's end is checked on a real timer (every windowMillis / 4).
  let clock = Date.UTC(2026, 10, 27, 9);
  const { log, lines } = capture({ maxLinesPerMessage: 1, windowMillis: 40, now: () => clock });
  log.error('request failed', { n: 1 });
  log.error('request failed', { n: 2 });
  log.error('request failed', { n: 3 });
  clock += 40;
  for (let waited = 0; waited < 5_000 && lines.length < 2; waited += 20) await sleep(20);
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg, l.suppressed]),
    [
      ['error', 'request failed', undefined],
      ['error', 'log lines suppressed', 2],
    ],
  );
});

test('lines below the level are neither written nor counted', () => {
  const { log, lines, suppressed } = capture({ maxLinesPerMessage: 1 });
  for (let i = 0; i < 5; i++) log.debug('detail');
  assert.equal(lines.length, 0);
  assert.equal(suppressed.length, 0);
});

test("a field named like the record's own keys cannot pass for them", () => {
  const { log, lines } = capture({ maxLinesPerMessage: 10, now: () => Date.UTC(2026, 10, 2) });
  log.warn('decision made', { level: 0, time: 'yesterday', msg: 'forged', id: 'd-1' });
  assert.deepEqual(lines, [
    {
      time: '2026-11-02T00:00:00.000Z',
      level: 'warn',
      msg: 'decision made',
      'field.level': 0,
      'field.time': 'yesterday',
      'field.msg': 'forged',
      id: 'd-1',
    },
  ]);
});
