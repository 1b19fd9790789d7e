/**
 * A minimal protobuf wire-format reader, and decoders for the two OTLP requests Vigil accepts
 * (ExportLogsServiceRequest, ExportTraceServiceRequest of opentelemetry-proto v1.x). They produce the same
 * object shape as OTLP/JSON (lowerCamelCase names, hex trace and span ids, 64-bit integers as decimal
 * strings), so one mapper serves both encodings. Unknown fields are skipped, as protobuf requires.
 */

export class ProtobufError extends Error {
  constructor(message: string) {
    super(`invalid protobuf: ${message}`);
    this.name = 'ProtobufError';
  }
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

/**
 * Most messages nested in one another. OTLP's own structure is a few levels deep; what goes deeper is attribute
 * values (arrays and key-value lists inside each other), which the JSON path cuts at 16 levels. A message recursed
 * into without a bound would overflow the stack on a 17 KB body.
 */
const MAX_DEPTH = 64;

class Reader {
  pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    readonly end = buf.length,
    start = 0,
    private readonly depth = 0,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufError('truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
    throw new ProtobufError('varint longer than 10 bytes');
  }

  tag(): { field: number; wire: number } {
    const tag = Number(this.varint());
    return { field: tag >>> 3, wire: tag & 7 };
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) throw new ProtobufError('truncated fixed64');
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8);
    this.pos += 8;
    return view.getBigUint64(0, true);
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new ProtobufError('truncated double');
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8);
    this.pos += 8;
    return view.getFloat64(0, true);
  }

  bytes(): Uint8Array {
    const length = Number(this.varint());
    if (length < 0 || this.pos + length > this.end) throw new ProtobufError('length runs past the end');
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  string(): string {
    return Buffer.from(this.bytes()).toString('utf8');
  }

  /** A reader over the next length-delimited field. */
  message(): Reader {
    const length = Number(this.varint());
    if (length < 0 || this.pos + length > this.end) throw new ProtobufError('length runs past the end');
    if (this.depth >= MAX_DEPTH) throw new ProtobufError(`messages nested more than ${MAX_DEPTH} deep`);
    const sub = new Reader(this.buf, this.pos + length, this.pos, this.depth + 1);
    this.pos += length;
    return sub;
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_FIXED64) this.pos += 8;
    else if (wire === WIRE_LEN) this.bytes();
    else if (wire === WIRE_FIXED32) this.pos += 4;
    else throw new ProtobufError(`unsupported wire type ${wire}`);
    if (this.pos > this.end) throw new ProtobufError('field runs past the end');
  }
}

type Json = Record<string, unknown>;

/** Read a message: `fields` maps field number → handler; everything else is skipped. */
function readMessage(r: Reader, fields: Record<number, (r: Reader, wire: number, out: Json) => void>): Json {
  const out: Json = {};
  while (!r.done()) {
    const { field, wire } = r.tag();
    const handler = fields[field];
    if (handler) handler(r, wire, out);
    else r.skip(wire);
  }
  return out;
}

function expect(wire: number, expected: number, what: string): void {
  if (wire !== expected) throw new ProtobufError(`${what} has wire type ${wire}, expected ${expected}`);
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const push = (out: Json, key: string, value: unknown) => {
  const existing = out[key] as unknown[] | undefined;
  if (existing) existing.push(value);
  else out[key] = [value];
};

const str =
  (key: string) =>
  (r: Reader, wire: number, out: Json): void => {
    expect(wire, WIRE_LEN, key);
    out[key] = r.string();
  };
const fixed64 =
  (key: string) =>
  (r: Reader, wire: number, out: Json): void => {
    expect(wire, WIRE_FIXED64, key);
    out[key] = r.fixed64().toString();
  };
const enumeration =
  (key: string) =>
  (r: Reader, wire: number, out: Json): void => {
    expect(wire, WIRE_VARINT, key);
    out[key] = Number(BigInt.asIntN(32, r.varint()));
  };
const bytesHex =
  (key: string) =>
  (r: Reader, wire: number, out: Json): void => {
    expect(wire, WIRE_LEN, key);
    out[key] = hex(r.bytes());
  };
const sub =
  (key: string, decode: (r: Reader) => Json, repeated = false) =>
  (r: Reader, wire: number, out: Json): void => {
    expect(wire, WIRE_LEN, key);
    const value = decode(r.message());
    if (repeated) push(out, key, value);
    else out[key] = value;
  };

function anyValue(r: Reader): Json {
  return readMessage(r, {
    1: str('stringValue'),
    2: (r, wire, out) => {
      expect(wire, WIRE_VARINT, 'boolValue');
      out.boolValue = r.varint() !== 0n;
    },
    3: (r, wire, out) => {
      expect(wire, WIRE_VARINT, 'intValue');
      out.intValue = BigInt.asIntN(64, r.varint()).toString();
    },
    4: (r, wire, out) => {
      expect(wire, WIRE_FIXED64, 'doubleValue');
      out.doubleValue = r.double();
    },
    5: sub('arrayValue', (r) => readMessage(r, { 1: sub('values', anyValue, true) })),
    6: sub('kvlistValue', (r) => readMessage(r, { 1: sub('values', keyValue, true) })),
    7: (r, wire, out) => {
      expect(wire, WIRE_LEN, 'bytesValue');
      out.bytesValue = Buffer.from(r.bytes()).toString('base64');
    },
  });
}

function keyValue(r: Reader): Json {
  return readMessage(r, { 1: str('key'), 2: sub('value', anyValue) });
}

const attributes = sub('attributes', keyValue, true);
const resource = sub('resource', (r) => readMessage(r, { 1: attributes }));
const scope = sub('scope', (r) => readMessage(r, { 1: str('name'), 2: str('version'), 3: attributes }));

function logRecord(r: Reader): Json {
  return readMessage(r, {
    1: fixed64('timeUnixNano'),
    2: enumeration('severityNumber'),
    3: str('severityText'),
    5: sub('body', anyValue),
    6: attributes,
    9: bytesHex('traceId'),
    10: bytesHex('spanId'),
    11: fixed64('observedTimeUnixNano'),
    12: str('eventName'),
  });
}

function spanEvent(r: Reader): Json {
  return readMessage(r, { 1: fixed64('timeUnixNano'), 2: str('name'), 3: attributes });
}

function span(r: Reader): Json {
  return readMessage(r, {
    1: bytesHex('traceId'),
    2: bytesHex('spanId'),
    4: bytesHex('parentSpanId'),
    5: str('name'),
    6: enumeration('kind'),
    7: fixed64('startTimeUnixNano'),
    8: fixed64('endTimeUnixNano'),
    9: attributes,
    11: sub('events', spanEvent, true),
    15: sub('status', (r) => readMessage(r, { 2: str('message'), 3: enumeration('code') })),
  });
}

/** Decode an ExportLogsServiceRequest into its OTLP/JSON shape. */
export function decodeLogsRequest(bytes: Uint8Array): Json {
  return readMessage(new Reader(bytes), {
    1: sub(
      'resourceLogs',
      (r) =>
        readMessage(r, {
          1: resource,
          2: sub('scopeLogs', (r) => readMessage(r, { 1: scope, 2: sub('logRecords', logRecord, true) }), true),
        }),
      true,
    ),
  });
}

/** Decode an ExportTraceServiceRequest into its OTLP/JSON shape. */
export function decodeTraceRequest(bytes: Uint8Array): Json {
  return readMessage(new Reader(bytes), {
    1: sub(
      'resourceSpans',
      (r) =>
        readMessage(r, {
          1: resource,
          2: sub('scopeSpans', (r) => readMessage(r, { 1: scope, 2: sub('spans', span, true) }), true),
        }),
      true,
    ),
  });
}

// --- encoding the (small) responses ---

function encodeVarint(value: bigint, out: number[]): void {
  let v = value;
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

/**
 * Export*ServiceResponse { partial_success (1) { rejected_* (1, int64), error_message (2, string) } }, the same
 * layout for logs and traces. An empty message when nothing was rejected.
 */
export function encodeExportResponse(rejected: number, errorMessage: string): Buffer {
  if (rejected === 0 && errorMessage === '') return Buffer.alloc(0);
  const inner: number[] = [];
  if (rejected > 0) {
    inner.push(0x08);
    encodeVarint(BigInt(rejected), inner);
  }
  if (errorMessage) {
    const text = Buffer.from(errorMessage, 'utf8');
    inner.push(0x12);
    encodeVarint(BigInt(text.length), inner);
    inner.push(...text);
  }
  const outer: number[] = [0x0a];
  encodeVarint(BigInt(inner.length), outer);
  return Buffer.from([...outer, ...inner]);
}
