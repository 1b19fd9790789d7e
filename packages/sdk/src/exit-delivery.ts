/**
 * Delivery when the process exits without closing the client: `process.exit()`, or a crash (an uncaught exception,
 * an unhandled rejection). No asynchronous work runs after the `exit` event, so the events still queued (up to
 * `flushIntervalMillis` of them, the crash's own `sys_crash` included) would be lost with the process: the last
 * moments before a crash are often the evidence of what caused it.
 *
 * At `exit`, the queued lines are handed to a worker thread that sends them with the same transport (proxy, `ca`,
 * retries), while the exiting thread blocks on `Atomics.wait` until the worker is done or `closeTimeoutMillis` has
 * passed. The process then ends as it would have without the SDK: same exit code, same message on stderr.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** What the worker needs to send what was left: the transport's settings and the lines. */
export interface ExitJob {
  readonly endpoint: string;
  readonly token: string;
  readonly ca: readonly string[] | undefined;
  /** The proxy's URL, credentials included, when the transport goes through one. */
  readonly proxy: string | undefined;
  readonly gzip: boolean;
  readonly maxBatchSize: number;
  readonly maxEventBytes: number;
  readonly maxRetries: number;
  readonly initialBackoffMillis: number;
  readonly requestTimeoutMillis: number;
  /** How long the exiting process waits for this job. */
  readonly timeoutMillis: number;
  readonly lines: readonly string[];
}

/** Where the worker says it is done, in shared memory. */
export const EXIT_DONE = 0;

/**
 * The worker's module, next to this one in the same build (ES module or CommonJS). Read from the stack of this
 * module's own evaluation, since the CommonJS build has no `import.meta.url` and the ES module build no
 * `__filename`. Undefined when the SDK was bundled into another file: delivery at exit is then skipped.
 */
const workerFile = siblingFile('exit-worker.js');

function siblingFile(name: string): string | undefined {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 1;
    Error.prepareStackTrace = (_error, frames) => frames;
    const frames = new Error().stack as unknown as NodeJS.CallSite[] | undefined;
    const own = Array.isArray(frames) ? frames[0]?.getFileName() : undefined;
    if (typeof own !== 'string' || own === '') return undefined;
    const base = own.startsWith('file:') ? new URL(own) : pathToFileURL(own);
    return fileURLToPath(new URL(name, base));
  } catch {
    return undefined;
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}

/**
 * Send the jobs' lines from a worker thread and wait for it, at most the longest job's `timeoutMillis`. Synchronous:
 * for the `exit` event. Never throws.
 */
export function deliverAtExit(jobs: readonly ExitJob[]): void {
  if (jobs.length === 0 || workerFile === undefined || !existsSync(workerFile)) return;
  const deadline = Date.now() + Math.max(...jobs.map((j) => j.timeoutMillis));
  const answers: Int32Array[] = [];
  for (const job of jobs) {
    try {
      const answer = new Int32Array(new SharedArrayBuffer(4));
      // Without the host's command-line options: they are for its own entry point (`--input-type`, `--require`
      // and `--import` preloads such as tracing set-ups), not for this module. Its output would go through this
      // thread's event loop, which does not run again: the worker reports nothing.
      new Worker(workerFile, { workerData: { job, answer }, execArgv: [], stdout: true, stderr: true }).unref();
      answers.push(answer);
    } catch {
      // no thread could be started (resource limits): these lines are lost, as they would have been
    }
  }
  for (const answer of answers) {
    const left = deadline - Date.now();
    if (left > 0) Atomics.wait(answer, EXIT_DONE, 0, left);
  }
}
