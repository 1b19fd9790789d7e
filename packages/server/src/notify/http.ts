/**
 * The one way an HTTP receiver talks to its target: through the SSRF-guarded agent, without following redirects
 * (a redirect could point anywhere, including inside the network), with a per-attempt timeout, and with errors
 * turned into `DeliveryError`s that carry `Retry-After` and never a secret.
 */
import { type Dispatcher, fetch } from 'undici';
import { DeliveryError, retryAfter, type SendResult } from './notifier.js';
import { redactSecrets, type Secret } from './options.js';
import { describeError } from './provider.js';
import { checkLiteralTarget, guardedAgent, guardedConnect, SsrfError } from './ssrf.js';

export interface HttpSenderOptions {
  readonly allowPrivateNetwork: boolean;
  readonly timeoutMillis: number;
  /** Values to scrub from every error message (tokens, keys, URLs that embed a token). */
  readonly secrets: readonly (Secret | string | undefined)[];
  readonly userAgent: string;
  readonly now?: () => number;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** At most the first 2 KiB of the body. */
  readonly text: string;
}

/** Error bodies are read for diagnosis only: bounded, so a hostile target cannot make us buffer gigabytes. */
const MAX_BODY_CHARS = 2048;

export class HttpSender {
  private readonly agent: Dispatcher & { close(): Promise<void> };
  private readonly now: () => number;

  constructor(private readonly options: HttpSenderOptions) {
    this.agent = guardedAgent({
      allowPrivateNetwork: options.allowPrivateNetwork,
      timeoutMillis: options.timeoutMillis,
    });
    this.now = options.now ?? Date.now;
  }

  /** Any method; throws SsrfError on a refused target and DeliveryError on a network failure. */
  async request(
    url: URL,
    init: { method: string; headers?: Record<string, string>; body?: string },
  ): Promise<HttpAnswer> {
    checkLiteralTarget(url, this.options.allowPrivateNetwork);
    let response: Awaited<ReturnType<typeof fetch>>;
    try {
      response = await fetch(url, {
        method: init.method,
        headers: { 'user-agent': this.options.userAgent, ...init.headers },
        body: init.body,
        dispatcher: this.agent,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMillis),
      });
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      // Keep the SSRF refusal as it is: the dispatcher dead-letters it at once instead of retrying.
      if (cause instanceof SsrfError) throw cause;
      if (error instanceof SsrfError) throw error;
      const message =
        (error as Error).name === 'TimeoutError'
          ? `timed out after ${this.options.timeoutMillis} ms`
          : describeError(error);
      throw new DeliveryError(this.scrub(`${init.method} ${url.host}: ${message}`));
    }
    return {
      status: response.status,
      headers: response.headers as unknown as Headers,
      text: await readBounded(response),
    };
  }

  /** POST a body; a 2xx is a delivery, anything else a DeliveryError (with `retryAt` from Retry-After). */
  async post(url: URL, body: string, headers: Record<string, string>): Promise<SendResult> {
    const answer = await this.request(url, { method: 'POST', headers, body });
    if (answer.status >= 200 && answer.status < 300) return {};
    throw this.failure(url, answer);
  }

  failure(url: URL, answer: HttpAnswer): DeliveryError {
    const detail = answer.text
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .trim()
      .slice(0, 300);
    return new DeliveryError(
      this.scrub(`${url.host} answered HTTP ${answer.status}${detail ? `: ${detail}` : ''}`),
      retryAfter(answer.headers.get('retry-after'), this.now()),
    );
  }

  /** TCP reachability of the URL's host and port, through the same SSRF check. */
  async reachable(url: URL): Promise<string> {
    checkLiteralTarget(url, this.options.allowPrivateNetwork);
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const socket = await guardedConnect(url.hostname, port, {
      allowPrivateNetwork: this.options.allowPrivateNetwork,
      timeoutMillis: this.options.timeoutMillis,
    });
    socket.destroy();
    return `TCP connection to ${url.host} succeeded`;
  }

  scrub(message: string): string {
    // A URL in a library's message (undici quotes the one it refused) keeps neither a password nor its query, where
    // receivers' tokens often travel.
    const withoutUrlSecrets = message.replace(
      /\b(https?:\/\/)(?:[^\s/@]*@)?([^\s/?#]*)([^\s?#]*)(?:\?[^\s#]*)?/gi,
      (_m, scheme: string, host: string, path: string) => `${scheme}${host}${path}`,
    );
    return redactSecrets(withoutUrlSecrets, this.options.secrets);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

async function readBounded(response: Awaited<ReturnType<typeof fetch>>): Promise<string> {
  if (!response.body) return '';
  let text = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.body) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      if (text.length >= MAX_BODY_CHARS) break;
    }
  } catch {
    // A body cut short is still good enough for a diagnosis.
  } finally {
    await response.body.cancel().catch(() => {});
  }
  return text.slice(0, MAX_BODY_CHARS);
}
