/**
 * The transport's queue: events waiting to be sent, already encoded as the NDJSON body they will be sent as.
 *
 * Each event is written as UTF-8 into its batch's buffer the moment it is queued, while the line is still in the
 * processor's cache, and the string is left to die young. A queue of strings, which this replaced, kept every line
 * alive until its batch went out, then joined them into one string and encoded that: measured under load on
 * Fastify, the join alone cost more per request than building the line. Buffers of sent batches are reused.
 */

/** A batch grows up to this many bytes (or `maxBatchSize` lines), then the next line starts a new one. */
const MAX_BATCH_BYTES = 1 << 20;
/** The first buffer of a batch (smaller when batches hold few lines); it doubles as lines come. */
const INITIAL_BATCH_BYTES = 16 * 1024;
/** Room planned per line for the first buffer of a batch of few lines. */
const PLANNED_LINE_BYTES = 1024;
/** Buffers of sent batches kept for the next ones. */
const POOLED_BUFFERS = 2;

/** Lines as one NDJSON body: each line followed by `\n`. */
export class Batch {
  /** Bytes used. */
  length = 0;
  /** Where each line ends (after its `\n`). */
  readonly ends: number[] = [];
  /** True once no more lines go in (full, or taken to be sent). */
  sealed = false;

  constructor(public buffer: Buffer) {}

  get count(): number {
    return this.ends.length;
  }

  /** The body: a view of the buffer, valid until the batch is released. */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  /** Line `index` as text (no newline); undefined past the end. */
  line(index: number): string | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.ends.length) return undefined;
    return this.buffer.toString('utf8', index === 0 ? 0 : this.ends[index - 1], this.ends[index]! - 1);
  }

  /** Every line as text, in order. */
  lines(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.ends.length; i++) out.push(this.line(i)!);
    return out;
  }

  /** Add a line; false when it does not fit in what a batch may grow to (the caller starts another batch). */
  append(line: string): boolean {
    // A UTF-8 byte sequence is at most three bytes per UTF-16 unit: room for that, and the newline, is enough.
    const need = line.length * 3 + 1;
    if (this.buffer.length - this.length < need) {
      if (this.count > 0 && this.length + need > MAX_BATCH_BYTES) return false;
      const grown = Buffer.allocUnsafe(Math.max(this.length + need, Math.min(this.buffer.length * 2, MAX_BATCH_BYTES)));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.length += this.buffer.write(line, this.length);
    this.buffer[this.length++] = 0x0a;
    this.ends.push(this.length);
    return true;
  }

  /** Two batches holding the first and the second half of the lines (copies: splitting is rare). */
  split(): [Batch, Batch] {
    const half = Math.ceil(this.count / 2);
    const middle = this.ends[half - 1]!;
    const first = new Batch(Buffer.from(this.buffer.subarray(0, middle)));
    const second = new Batch(Buffer.from(this.buffer.subarray(middle, this.length)));
    first.length = middle;
    second.length = this.length - middle;
    first.ends.push(...this.ends.slice(0, half));
    second.ends.push(...this.ends.slice(half).map((end) => end - middle));
    first.sealed = second.sealed = true;
    return [first, second];
  }
}

export class LineQueue {
  private batches: Batch[] = [];
  private readonly pool: Buffer[] = [];
  /** Lines queued, in all batches. */
  size = 0;
  /** Their bytes. */
  bytes = 0;
  /** The memory their batches hold: the buffers' sizes, at least `bytes`. What bounds the queue's memory. */
  reserved = 0;
  /**
   * The size of a new batch's first buffer: enough for the batch, up to 16 KiB, and at most a quarter of the queue's
   * memory bound (`maxQueueBytes`), which would otherwise be spent on one batch's empty room.
   */
  private readonly initialBytes: number;

  constructor(
    private readonly maxBatchSize: number,
    maxQueueBytes = Number.POSITIVE_INFINITY,
  ) {
    this.initialBytes = Math.min(
      INITIAL_BATCH_BYTES,
      Math.max(1, maxBatchSize) * PLANNED_LINE_BYTES,
      Math.max(256, Math.floor(maxQueueBytes / 4)),
    );
  }

  /** Queue a line. True when its batch is now full, so a send is worth starting. */
  push(line: string): boolean {
    let batch = this.batches[this.batches.length - 1];
    const open = batch !== undefined && !batch.sealed;
    const before = open ? batch!.length : 0;
    const capacity = open ? batch!.buffer.length : 0;
    if (batch === undefined || batch.sealed || !batch.append(line)) {
      if (batch !== undefined) batch.sealed = true;
      batch = this.newBatch();
      this.batches.push(batch);
      batch.append(line);
      this.bytes += batch.length;
      this.reserved += batch.buffer.length;
    } else {
      this.bytes += batch.length - before;
      this.reserved += batch.buffer.length - capacity;
    }
    this.size++;
    if (batch.count >= this.maxBatchSize) batch.sealed = true;
    return batch.sealed;
  }

  /** Put lines ahead of everything queued, in a batch of their own (returned). */
  unshift(lines: readonly string[]): Batch | undefined {
    if (lines.length === 0) return undefined;
    const batch = this.newBatch();
    for (const line of lines) batch.append(line);
    batch.sealed = true;
    this.batches.unshift(batch);
    this.size += lines.length;
    this.bytes += batch.length;
    this.reserved += batch.buffer.length;
    return batch;
  }

  /** True when the oldest batch takes no more lines: sending it now sends a full batch. */
  firstIsFull(): boolean {
    return this.batches[0]?.sealed ?? false;
  }

  /** Take the oldest batch to send it. */
  shift(): Batch | undefined {
    const batch = this.batches.shift();
    if (batch === undefined) return undefined;
    batch.sealed = true;
    this.size -= batch.count;
    this.bytes -= batch.length;
    this.reserved -= batch.buffer.length;
    return batch;
  }

  /** Drop everything queued; returns how many lines that was. */
  clear(): number {
    const dropped = this.size;
    this.batches = [];
    this.size = 0;
    this.bytes = 0;
    this.reserved = 0;
    return dropped;
  }

  /** A sent (or given up) batch: its buffer may serve a later one. */
  release(batch: Batch): void {
    if (this.pool.length < POOLED_BUFFERS && batch.buffer.length <= MAX_BATCH_BYTES) this.pool.push(batch.buffer);
  }

  private newBatch(): Batch {
    return new Batch(this.pool.pop() ?? Buffer.allocUnsafe(this.initialBytes));
  }
}
