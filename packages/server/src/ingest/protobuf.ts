/**
 * A minimal protobuf wire-format reader, and decoders for the two OTLP requests Vigil accepts
 * (ExportLogsServiceRequest, ExportTraceServiceRequest of opentelemetry-proto v1.x). They produce the same
 * object shape as OTLP/JSON (lowerCamelCase names, hex trace and span ids, 64-bit integers as decimal
 * strings), so one mapper serves both encodings. Unknown fields are skipped, as protobuf requires, whatever their wire
 * type (groups included), and a message field that occurs more than once is merged, as the protobuf encoding says a
 * parser must: repeated fields append, scalars and oneof members keep the last value.
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
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
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
    const tag = this.varint();
    const field = tag >> 3n;
    // Field numbers are 1 to 2^29 - 1; anything else is not a protobuf message.
    if (field === 0n || field > 0x1fffffffn) throw new ProtobufError(`field number ${field} is out of range`);
    return { field: Number(field), wire: Number(tag & 7n) };
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

  /**
   * Skip the value of a field this decoder does not read. A group (wire types 3 and 4, deprecated but still valid
   * protobuf) is skipped to its matching end, the groups inside it counted against the nesting bound.
   */
  skip(wire: number, field: number, depth = this.depth): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_FIXED64) this.pos += 8;
    else if (wire === WIRE_LEN) this.bytes();
    else if (wire === WIRE_FIXED32) this.pos += 4;
    else if (wire === WIRE_START_GROUP) {
      if (depth >= MAX_DEPTH) throw new ProtobufError(`messages nested more than ${MAX_DEPTH} deep`);
      for (;;) {
        if (this.done()) throw new ProtobufError(`group ${field} has no end`);
        const inner = this.tag();
        if (inner.wire === WIRE_END_GROUP) {
          if (inner.field !== field) throw new ProtobufError(`group ${field} ends as group ${inner.field}`);
          break;
        }
        this.skip(inner.wire, inner.field, depth + 1);
      }
    } else if (wire === WIRE_END_GROUP) throw new ProtobufError(`end of group ${field} without its start`);
    else throw new ProtobufError(`field ${field} has wire type ${wire}, which protobuf does not define`);
    if (this.pos > this.end) throw new ProtobufError(`field ${field} runs past the end`);
  }
}

type Json = Record<string, unknown>;

type FieldHandler = (r: Reader, wire: number, out: Json, field: number) => void;

/**
 * Read a message into `out` (a new object, or the one an earlier occurrence of the same field made, which this one
 * merges into): `fields` maps field number → handler; everything else is skipped.
 */
function readMessage(r: Reader, fields: Record<number, FieldHandler>, out: Json = {}): Json {
  while (!r.done()) {
    const { field, wire } = r.tag();
    const handler = fields[field];
    if (handler) handler(r, wire, out, field);
    else r.skip(wire, field);
  }
  return out;
}

/**
 * Whether a known field came with the wire type its declaration gives it. One that did not is skipped as an unknown
 * field, as the reference protobuf parsers do, rather than read as something it is not.
 */
function expect(r: Reader, wire: number, expected: number, field: number): boolean {
  if (wire === expected) return true;
  r.skip(wire, field);
  return false;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const push = (out: Json, key: string, value: unknown) => {
  const existing = out[key] as unknown[] | undefined;
  if (existing) existing.push(value);
  else out[key] = [value];
};

const str =
  (key: string) =>
  (r: Reader, wire: number, out: Json, field: number): void => {
    if (!expect(r, wire, WIRE_LEN, field)) return;
    out[key] = r.string();
  };
const fixed64 =
  (key: string) =>
  (r: Reader, wire: number, out: Json, field: number): void => {
    if (!expect(r, wire, WIRE_FIXED64, field)) return;
    out[key] = r.fixed64().toString();
  };
const enumeration =
  (key: string) =>
  (r: Reader, wire: number, out: Json, field: number): void => {
    if (!expect(r, wire, WIRE_VARINT, field)) return;
    out[key] = Number(BigInt.asIntN(32, r.varint()));
  };
const bytesHex =
  (key: string) =>
  (r: Reader, wire: number, out: Json, field: number): void => {
    if (!expect(r, wire, WIRE_LEN, field)) return;
    out[key] = hex(r.bytes());
  };
/** A message field; a second occurrence of a singular one merges into the first. */
const sub =
  (key: string, decode: (r: Reader, into?: Json) => Json, repeated = false) =>
  (r: Reader, wire: number, out: Json, field: number): void => {
    if (!expect(r, wire, WIRE_LEN, field)) return;
    if (repeated) push(out, key, decode(r.message()));
    else out[key] = decode(r.message(), out[key] as Json | undefined);
  };

const ANY_VALUE_CASES = [
  'stringValue',
  'boolValue',
  'intValue',
  'doubleValue',
  'arrayValue',
  'kvlistValue',
  'bytesValue',
];

/** AnyValue's `value` is a oneof: setting one case clears the others (the last one on the wire wins). */
const oneofCase =
  (key: string, expected: number, handler: FieldHandler): FieldHandler =>
  (r, wire, out, field) => {
    if (!expect(r, wire, expected, field)) return;
    for (const other of ANY_VALUE_CASES) if (other !== key) delete out[other];
    handler(r, wire, out, field);
  };

function anyValue(r: Reader, into?: Json): Json {
  return readMessage(
    r,
    {
      1: oneofCase('stringValue', WIRE_LEN, str('stringValue')),
      2: oneofCase('boolValue', WIRE_VARINT, (r, _wire, out) => {
        out.boolValue = r.varint() !== 0n;
      }),
      3: oneofCase('intValue', WIRE_VARINT, (r, _wire, out) => {
        out.intValue = BigInt.asIntN(64, r.varint()).toString();
      }),
      4: oneofCase('doubleValue', WIRE_FIXED64, (r, _wire, out) => {
        out.doubleValue = r.double();
      }),
      5: oneofCase(
        'arrayValue',
        WIRE_LEN,
        sub('arrayValue', (r, into) => readMessage(r, { 1: sub('values', anyValue, true) }, into)),
      ),
      6: oneofCase(
        'kvlistValue',
        WIRE_LEN,
        sub('kvlistValue', (r, into) => readMessage(r, { 1: sub('values', keyValue, true) }, into)),
      ),
      7: oneofCase('bytesValue', WIRE_LEN, (r, _wire, out) => {
        out.bytesValue = Buffer.from(r.bytes()).toString('base64');
      }),
    },
    into,
  );
}

function keyValue(r: Reader, into?: Json): Json {
  return readMessage(r, { 1: str('key'), 2: sub('value', anyValue) }, into);
}

const attributes = sub('attributes', keyValue, true);
const resource = sub('resource', (r, into) => readMessage(r, { 1: attributes }, into));
const scope = sub('scope', (r, into) => readMessage(r, { 1: str('name'), 2: str('version'), 3: attributes }, into));

function logRecord(r: Reader, into?: Json): Json {
  return readMessage(
    r,
    {
      1: fixed64('timeUnixNano'),
      2: enumeration('severityNumber'),
      3: str('severityText'),
      5: sub('body', anyValue),
      6: attributes,
      9: bytesHex('traceId'),
      10: bytesHex('spanId'),
      11: fixed64('observedTimeUnixNano'),
      12: str('eventName'),
    },
    into,
  );
}

function spanEvent(r: Reader, into?: Json): Json {
  return readMessage(r, { 1: fixed64('timeUnixNano'), 2: str('name'), 3: attributes }, into);
}

function span(r: Reader, into?: Json): Json {
  return readMessage(
    r,
    {
      1: bytesHex('traceId'),
      2: bytesHex('spanId'),
      4: bytesHex('parentSpanId'),
      5: str('name'),
      6: enumeration('kind'),
      7: fixed64('startTimeUnixNano'),
      8: fixed64('endTimeUnixNano'),
      9: attributes,
      11: sub('events', spanEvent, true),
      15: sub('status', (r, into) => readMessage(r, { 2: str('message'), 3: enumeration('code') }, into)),
    },
    into,
  );
}

/** Decode an ExportLogsServiceRequest into its OTLP/JSON shape. */
export function decodeLogsRequest(bytes: Uint8Array): Json {
  return readMessage(new Reader(bytes), {
    1: sub(
      'resourceLogs',
      (r, into) =>
        readMessage(
          r,
          {
            1: resource,
            2: sub('scopeLogs', (r) => readMessage(r, { 1: scope, 2: sub('logRecords', logRecord, true) }), true),
          },
          into,
        ),
      true,
    ),
  });
}

/** Decode an ExportTraceServiceRequest into its OTLP/JSON shape. */
export function decodeTraceRequest(bytes: Uint8Array): Json {
  return readMessage(new Reader(bytes), {
    1: sub(
      'resourceSpans',
      (r, into) =>
        readMessage(
          r,
          {
            1: resource,
            2: sub('scopeSpans', (r) => readMessage(r, { 1: scope, 2: sub('spans', span, true) }), true),
          },
          into,
        ),
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

/**
 * google.rpc.Status { message (2, string) }, the body OTLP/HTTP gives every 4xx and 5xx answer. The specification
 * does not use `code` (field 1), and leaves it out.
 */
export function encodeStatus(message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const header: number[] = [0x12];
  encodeVarint(BigInt(text.length), header);
  return Buffer.concat([Buffer.from(header), text]);
}
