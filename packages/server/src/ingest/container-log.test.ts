import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { assertValid, event, reason } from '../testing/line-results.js';
import { type AccessLogFormat, createLineParser, type LineResult } from './access-log.js';
import {
  type ContainerLogRuntime,
  containerLineCountsText,
  createLineReader,
  emptyContainerLineCounts,
  wholeLineContent,
} from './container-log.js';
import { type Line, readLines } from './lines.js';

/** What a reader makes of a file's text, line by line, plus what it holds when the input ends. */
async function readAll(
  text: string,
  container: ContainerLogRuntime,
  format: AccessLogFormat = 'combined',
): Promise<{ results: { line: Line; result: LineResult }[]; events: Record<string, unknown>[]; held: boolean }> {
  const reader = createLineReader(createLineParser(format), { container });
  const results: { line: Line; result: LineResult }[] = [];
  for await (const line of readLines(Readable.from([text]))) results.push({ line, result: reader.read(line) });
  const held = reader.heldFrom() !== undefined;
  const end = reader.end();
  if (end) results.push(end);
  const events = results.flatMap(({ result }) => (result.ok && !result.directive ? [result.event] : []));
  return { results, events, held };
}

const skipped = (r: LineResult) => r.ok && r.directive === true;

// ingress-nginx's default log-format-upstream: combined, then request length and time, upstream names and answers.
const INGRESS_LINE =
  '203.0.113.7 - - [28/Nov/2026:10:00:00 +0000] "POST /login HTTP/1.1" 401 24 "-" "python-requests/2.31.0" 312 ' +
  '0.004 [shop-api-8080] [] 10.244.1.17:8080 24 0.004 401 9f3c1d2e8b7a6f5e4d3c2b1a09f8e7d6';
const CRI_TIME = '2026-11-28T10:00:00.123456789Z';

describe('CRI container logs (containerd, CRI-O)', () => {
  test('a full line: the content is read as a line of the format, the runtime time is not the event time', async () => {
    const { results, events } = await readAll(`${CRI_TIME} stdout F ${INGRESS_LINE}\n`, 'cri');
    assert.equal(results.length, 1);
    const e = event(results[0]!.result);
    assertValid(e);
    assert.equal(e.time, Date.UTC(2026, 10, 28, 10, 0, 0), 'the time of the access-log line');
    assert.equal(e['http.request.method'], 'POST');
    assert.equal(e['url.path'], '/login');
    assert.equal(e['http.response.status_code'], 401);
    assert.equal(e['client.address'], '203.0.113.7');
    assert.equal(e['user_agent.original'], 'python-requests/2.31.0', 'fields after the user agent are ignored');
    assert.equal(events.length, 1);
  });

  test('partial pieces are joined into one line, numbered as its last piece; stderr between them is skipped', async () => {
    const [a, b, c] = [INGRESS_LINE.slice(0, 30), INGRESS_LINE.slice(30, 90), INGRESS_LINE.slice(90)];
    const text = [
      `${CRI_TIME} stdout P ${a}`,
      `${CRI_TIME} stderr F 2026/11/28 10:00:00 [error] 7#7: *1 connect() failed (111: Connection refused)`,
      `${CRI_TIME} stdout P ${b}`,
      `${CRI_TIME} stdout F ${c}`,
      `${CRI_TIME} stdout F ${INGRESS_LINE.replace('POST /login', 'GET /health')}`,
    ].join('\n');
    const { results, events } = await readAll(`${text}\n`, 'cri');
    assert.deepEqual(
      results.slice(0, 3).map((r) => skipped(r.result)),
      [true, true, true],
    );
    assert.equal(events.length, 2);
    const joined = event(results[3]!.result);
    assert.equal(results[3]!.line.lineNumber, 4);
    assert.equal(joined['user_agent.original'], 'python-requests/2.31.0');
    assert.equal(joined['url.path'], '/login');
    assert.equal(joined['vigil.truncated'], undefined);
    assert.equal(event(results[4]!.result)['url.path'], '/health');
  });

  test('stderr lines (the error log) are neither events nor bad lines', async () => {
    const { results, events } = await readAll(
      `${CRI_TIME} stderr F 2026/11/28 10:00:00 [warn] 7#7: an upstream response is buffered\n${CRI_TIME} stderr P x\n`,
      'cri',
    );
    assert.ok(results.every((r) => skipped(r.result)));
    assert.equal(events.length, 0);
  });

  test('pieces joined past the line limit are cut there and the event is marked truncated', async () => {
    const long = `${INGRESS_LINE} ${'x'.repeat(70 * 1024)}`;
    const split = [];
    for (let i = 0; i < long.length; i += 16 * 1024) {
      const end = i + 16 * 1024 >= long.length;
      split.push(`${CRI_TIME} stdout ${end ? 'F' : 'P'} ${long.slice(i, i + 16 * 1024)}`);
    }
    assert.ok(split.length > 4);
    const cut = await readAll(`${split.join('\n')}\n`, 'cri');
    const e = event(cut.results.at(-1)!.result);
    assert.equal(e['vigil.truncated'], true);
    assert.equal(e['url.path'], '/login');
    assert.equal(cut.events.length, 1);
  });

  test('a stream that ends inside a partial line gives what it has', async () => {
    const { results, held, events } = await readAll(`${CRI_TIME} stdout P ${INGRESS_LINE}\n`, 'cri');
    assert.equal(held, true);
    assert.equal(events.length, 1);
    assert.equal(results.at(-1)!.line.lineNumber, 1);
    assert.equal(event(results.at(-1)!.result)['url.path'], '/login');
  });

  test('the first piece of an unfinished line is known until its last piece; skipped and joined lines are counted', async () => {
    const counts = emptyContainerLineCounts();
    const reader = createLineReader(createLineParser('combined'), { container: 'cri', counts });
    const other = createLineReader(createLineParser('combined'), { container: 'cri', counts });
    const lines: Line[] = [];
    const text = [
      `${CRI_TIME} stdout P ${INGRESS_LINE.slice(0, 30)}`,
      `${CRI_TIME} stderr F 2026/11/28 10:00:00 [error] 7#7: *1 connect() failed`,
      `${CRI_TIME} stdout P ${INGRESS_LINE.slice(30, 60)}`,
      `${CRI_TIME} stdout F ${INGRESS_LINE.slice(60)}`,
    ].join('\n');
    for await (const line of readLines(Readable.from([`${text}\n`]))) lines.push(line);
    assert.equal(reader.heldFrom(), undefined);
    reader.read(lines[0]!);
    assert.equal(reader.heldFrom(), lines[0], 'the object read, so a follower can tell it from another');
    reader.read(lines[1]!);
    reader.read(lines[2]!);
    assert.equal(reader.heldFrom(), lines[0]);
    assert.equal(event(reader.read(lines[3]!))['url.path'], '/login');
    assert.equal(reader.heldFrom(), undefined);
    other.read(lines[1]!);
    assert.deepEqual(counts, { stderrLines: 2, pieces: 3, joinedLines: 1 });
    assert.equal(containerLineCountsText(counts), ', 2 stderr lines skipped, 3 pieces joined into 1 lines');
    assert.equal(containerLineCountsText(emptyContainerLineCounts()), '');
  });

  test('bad wrappers are bad lines whose reason does not quote the line', async () => {
    const text = [
      `${CRI_TIME} stdout ${INGRESS_LINE.replace('203.0.113.7', 'secret-host')}`,
      `${CRI_TIME} stdout`,
      `${CRI_TIME} stdin F secret-host`,
      `secret-host - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`,
    ].join('\n');
    const { results, events } = await readAll(`${text}\n`, 'cri');
    assert.equal(events.length, 0);
    const reasons = results.map((r) => reason(r.result));
    assert.match(reasons[0]!, /^not a CRI container log line: no tag \(F or P\) after the stream/);
    assert.match(reasons[1]!, /no tag \(F or P\)/);
    assert.match(reasons[2]!, /no stream \(stdout or stderr\)/);
    assert.match(reasons[3]!, /no time at the start/);
    for (const r of reasons) assert.doesNotMatch(r, /secret/);
  });

  test('a plain log read as CRI is refused line by line: the wrapper is never guessed', async () => {
    const { results } = await readAll(`${INGRESS_LINE}\n`, 'cri');
    assert.match(reason(results[0]!.result), /not a CRI container log line/);
  });
});

const dockerRecord = (log: string, stream = 'stdout') =>
  JSON.stringify({ log, stream, time: '2026-11-28T10:00:00.123456789Z' });

describe("Docker's json-file driver", () => {
  test('a full record: its log, without the newline, is the line', async () => {
    const { results } = await readAll(`${dockerRecord(`${INGRESS_LINE}\n`)}\n`, 'docker');
    const e = event(results[0]!.result);
    assertValid(e);
    assert.equal(e.time, Date.UTC(2026, 10, 28, 10, 0, 0));
    assert.equal(e['url.path'], '/login');
    assert.equal(e['client.address'], '203.0.113.7');
  });

  test('records without a trailing newline continue in the next one; stderr records are skipped', async () => {
    const text = [
      dockerRecord(INGRESS_LINE.slice(0, 40)),
      dockerRecord('2026/11/28 10:00:00 [error] 7#7: *1 upstream timed out\n', 'stderr'),
      dockerRecord(`${INGRESS_LINE.slice(40)}\n`),
    ].join('\n');
    const { results, events } = await readAll(`${text}\n`, 'docker');
    assert.ok(skipped(results[0]!.result));
    assert.ok(skipped(results[1]!.result));
    assert.equal(events.length, 1);
    assert.equal(event(results[2]!.result)['user_agent.original'], 'python-requests/2.31.0');
  });

  test('a JSON preset log inside json-file records', async () => {
    const nginx = JSON.stringify({
      time_iso8601: '2026-11-28T10:00:00+00:00',
      remote_addr: '198.51.100.23',
      request_method: 'GET',
      request_uri: '/api/v1/orders?coupon=SPRING',
      status: '200',
      body_bytes_sent: '512',
      http_user_agent: 'okhttp/4.12.0',
    });
    const { results } = await readAll(`${dockerRecord(`${nginx}\n`)}\n`, 'docker', 'nginx-json');
    const e = event(results[0]!.result);
    assertValid(e);
    assert.equal(e['url.path'], '/api/v1/orders');
    assert.equal(e['client.address'], '198.51.100.23');
    assert.equal(e['vigil.source.name'], 'nginx-json');
  });

  test('the content of a whole stdout line, as a resumed follower looks for W3C #Fields: lines', async () => {
    const at = (text: string): Line => ({
      lineNumber: 1,
      text,
      byteOffset: 0,
      byteLength: Buffer.byteLength(text),
      truncated: false,
      invalidUtf8: false,
    });
    assert.equal(wholeLineContent('docker', at(dockerRecord('#Fields: date time\n'))), '#Fields: date time');
    assert.equal(wholeLineContent('docker', at(dockerRecord('#Fields: date'))), undefined, 'a piece');
    assert.equal(wholeLineContent('docker', at(dockerRecord('#Fields: date\n', 'stderr'))), undefined);
    assert.equal(wholeLineContent('cri', at(`${CRI_TIME} stdout F #Fields: date time`)), '#Fields: date time');
    assert.equal(wholeLineContent('cri', at(`${CRI_TIME} stdout P #Fields: date`)), undefined);
    assert.equal(wholeLineContent('cri', at('#Fields: date time')), undefined, 'not wrapped');
  });

  test('bad records are bad lines whose reason does not quote the line', async () => {
    const text = [
      `{"log":"secret-token 200`,
      JSON.stringify({ msg: 'secret-token', stream: 'stdout' }),
      JSON.stringify(['secret-token']),
      'secret-token',
    ].join('\n');
    const { results, events } = await readAll(`${text}\n`, 'docker');
    assert.equal(events.length, 0);
    const reasons = results.map((r) => reason(r.result));
    assert.match(reasons[0]!, /^not a Docker json-file record: not JSON/);
    assert.match(reasons[1]!, /no "log" string/);
    assert.match(reasons[2]!, /not a JSON object/);
    assert.match(reasons[3]!, /not JSON/);
    for (const r of reasons) assert.doesNotMatch(r, /secret/);
  });
});
