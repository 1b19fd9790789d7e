/**
 * A small protobuf writer for tests that build OTLP payloads by hand, down to the wire types an exporter would not
 * send (groups, fixed32, fields repeated or out of order), and a reader for the Status body of an OTLP failure.
 */

/** A base-128 varint. */
export function varint(value: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

/** A field's key: its number and wire type. */
export const key = (field: number, wire: number): Buffer => varint((field << 3) | wire);

/** Length-delimited: a string, bytes or an embedded message made of `parts`. */
export function len(field: number, ...parts: (Buffer | string)[]): Buffer {
  const payload = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
  return Buffer.concat([key(field, 2), varint(payload.length), payload]);
}

/** A varint field (int64, uint32, bool, enum). */
export const uint = (field: number, value: number | bigint): Buffer => Buffer.concat([key(field, 0), varint(value)]);

/** A fixed64 field (timestamps). */
export function fixed64(field: number, value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, value));
  return Buffer.concat([key(field, 1), b]);
}

/** A double field. */
export function double(field: number, value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return Buffer.concat([key(field, 1), b]);
}

/** A fixed32 field (flags). */
export function fixed32(field: number, value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return Buffer.concat([key(field, 5), b]);
}

/** A group (wire types 3 and 4) holding `parts`. */
export const group = (field: number, ...parts: Buffer[]): Buffer =>
  Buffer.concat([key(field, 3), ...parts, key(field, 4)]);

/** The `message` (field 2) of a google.rpc.Status body. */
export function statusMessage(body: Uint8Array): string {
  let pos = 0;
  const read = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = body[pos++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
  };
  let message = '';
  while (pos < body.length) {
    const tag = read();
    if ((tag & 7) === 0) read();
    else if ((tag & 7) === 2) {
      const length = read();
      if (tag >>> 3 === 2) message = Buffer.from(body.subarray(pos, pos + length)).toString('utf8');
      pos += length;
    } else throw new Error(`unexpected wire type ${tag & 7} in a Status`);
  }
  return message;
}
