/**
 * The worker thread of exit-delivery.ts: sends the lines a client left queued when its process exited, with a
 * transport of the same settings, and answers in shared memory. It reports nothing: its process is exiting.
 */
import { workerData } from 'node:worker_threads';
import { EXIT_DONE, type ExitJob } from './exit-delivery.js';
import { parseProxy } from './outbound.js';
import { Reporter } from './report.js';
import { HttpTransport } from './transport.js';

const { job, answer } = workerData as { job: ExitJob; answer: Int32Array };

async function main(): Promise<void> {
  const proxy = job.proxy === undefined ? undefined : parseProxy(job.proxy);
  const transport = new HttpTransport({
    endpoint: job.endpoint,
    token: job.token,
    ca: job.ca,
    proxy: proxy !== undefined && 'url' in proxy ? proxy : undefined,
    gzip: job.gzip,
    maxBatchSize: job.maxBatchSize,
    maxEventBytes: job.maxEventBytes,
    maxQueueSize: job.lines.length + 1,
    maxQueueBytes: Number.MAX_SAFE_INTEGER,
    // The process is waiting to end: one retry, soon, for a kept-alive connection the collector had just closed.
    maxRetries: Math.min(job.maxRetries, 1),
    initialBackoffMillis: Math.min(job.initialBackoffMillis, 200),
    requestTimeoutMillis: job.requestTimeoutMillis,
    // Drops here are final; there is no later batch to report them in.
    dropEvent: () => '',
    reporter: new Reporter(() => {}, false),
  });
  for (const line of job.lines) transport.enqueue(line);
  await transport.close(job.timeoutMillis);
}

main()
  .catch(() => {})
  .finally(() => {
    Atomics.store(answer, EXIT_DONE, 1);
    Atomics.notify(answer, EXIT_DONE);
  });
