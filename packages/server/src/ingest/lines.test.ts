import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { type Line, readLines } from './lines.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-lines-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(stream: Readable, maxLineBytes?: number): Promise<Line[]> {
  const lines: Line[] = [];
  for await (const line of readLines(stream, maxLineBytes === undefined ? {} : { maxLineBytes })) lines.push(line);
  return lines;
}

async function fromFile(name: string, content: Buffer | string, highWaterMark = 64 * 1024, maxLineBytes?: number) {
  const path = join(dir, name);
  await writeFile(path, content);
  return collect(createReadStream(path, { highWaterMark }), maxLineBytes);
}

describe('readLines', () => {
  test('splits on LF, strips CR, keeps a last line without newline, and counts offsets in bytes', async () => {
    const lines = await fromFile('crlf.log', 'first\r\nsecond\n\r\nthird\r\nlast, no newline');
    assert.deepEqual(
      lines.map((l) => [l.lineNumber, l.text, l.byteOffset]),
      [
        [1, 'first', 0],
        [2, 'second', 7],
        [3, '', 14],
        [4, 'third', 16],
        [5, 'last, no newline', 23],
      ],
    );
    assert.equal(lines[0]!.byteLength, 5);
    assert.ok(lines.every((l) => !l.truncated && !l.invalidUtf8));
  });

  test('gives the same lines whatever the chunk size, including lines spanning many chunks', async () => {
    const content = 'é'.repeat(50) + '\nshort\n' + 'x'.repeat(300) + '\r\nend\n';
    const whole = await fromFile('chunks-a.log', content);
    const tiny = await fromFile('chunks-b.log', content, 7);
    assert.deepEqual(tiny, whole);
    assert.equal(whole.length, 4);
    assert.equal(whole[0]!.text, 'é'.repeat(50));
    assert.equal(whole[2]!.text.length, 300);
    assert.equal(whole[3]!.byteOffset, 100 + 1 + 6 + 300 + 2);
  });

  test('an empty input has no lines; a lone newline is one empty line', async () => {
    assert.deepEqual(await fromFile('empty.log', ''), []);
    const one = await fromFile('newline.log', '\n');
    assert.equal(one.length, 1);
    assert.equal(one[0]!.text, '');
  });

  test('cuts an over-long line to the limit, flags it, and goes on with the next line', async () => {
    const long = 'a'.repeat(5000);
    const lines = await fromFile('long.log', `before\n${long}\nafter\n`, 256, 1000);
    assert.equal(lines.length, 3);
    assert.equal(lines[1]!.text, 'a'.repeat(1000));
    assert.equal(lines[1]!.truncated, true);
    assert.equal(lines[1]!.byteLength, 5000);
    assert.equal(lines[2]!.text, 'after');
    assert.equal(lines[2]!.lineNumber, 3);
    assert.equal(lines[2]!.byteOffset, 7 + 5001);
    assert.equal(lines[2]!.truncated, false);
  });

  test('a line of exactly the limit ending in CRLF is whole: the CR is line ending, not a byte over the limit', async () => {
    const exact = 'a'.repeat(16);
    const over = 'b'.repeat(17);
    const content = `${exact}\r\n${over}\r\n${'c'.repeat(15)}\r\n${exact}\r`;
    // One chunk, and a byte at a time (the CR then arrives alone, after the limit is reached).
    for (const highWaterMark of [64 * 1024, 1]) {
      const lines = await fromFile(`crlf-limit-${highWaterMark}.log`, content, highWaterMark, 16);
      assert.deepEqual(
        lines.map((l) => [l.text, l.byteLength, l.truncated]),
        [
          [exact, 16, false],
          ['b'.repeat(16), 17, true],
          ['c'.repeat(15), 15, false],
          [exact, 16, false],
        ],
      );
    }
  });

  test('cutting inside a multi-byte character does not make the line look like invalid UTF-8', async () => {
    // 'é' is 2 bytes: a 9-byte limit falls in the middle of the fifth one.
    const lines = await fromFile('cut-char.log', `${'é'.repeat(10)}\n`, 64, 9);
    assert.equal(lines[0]!.text, 'éééé');
    assert.equal(lines[0]!.truncated, true);
    assert.equal(lines[0]!.invalidUtf8, false);
  });

  test('replaces invalid UTF-8 with U+FFFD and flags the line', async () => {
    const bytes = Buffer.concat([Buffer.from('GET /caf'), Buffer.from([0xe9, 0xff]), Buffer.from('\nok\n')]);
    const lines = await fromFile('latin1.log', bytes);
    assert.equal(lines[0]!.text, 'GET /caf\uFFFD\uFFFD');
    assert.equal(lines[0]!.invalidUtf8, true);
    assert.equal(lines[1]!.invalidUtf8, false);
  });

  test('drops a UTF-8 byte order mark at the start, even when it arrives one byte at a time', async () => {
    const content = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('x\ny\ufeff')]);
    for (const highWaterMark of [64, 1]) {
      const lines = await fromFile(`bom-${highWaterMark}.log`, content, highWaterMark);
      assert.deepEqual(
        lines.map((l) => [l.text, l.byteOffset, l.byteLength]),
        [
          ['x', 3, 1],
          ['y\ufeff', 5, 4], // only a leading mark is dropped
        ],
      );
    }
  });

  test('reads Uint8Array chunks as bytes', async () => {
    const lines = await collect(Readable.from([new TextEncoder().encode('caf\u00e9\nok')], { objectMode: true }));
    assert.deepEqual(
      lines.map((l) => l.text),
      ['café', 'ok'],
    );
  });

  test('reads string streams (stdin with an encoding set) too', async () => {
    const lines = await collect(Readable.from(['one\ntw', 'o\n']));
    assert.deepEqual(
      lines.map((l) => l.text),
      ['one', 'two'],
    );
  });

  test('refuses a non-positive limit', async () => {
    await assert.rejects(collect(Readable.from([]), 0), RangeError);
  });
});
