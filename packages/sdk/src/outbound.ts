/**
 * The outbound proxy: how the SDK reaches a collector from a network whose only way out is an HTTP proxy.
 *
 * - Which proxy: the `proxy` option; else, as curl and most HTTP clients read them, `https_proxy` / `HTTPS_PROXY`
 *   for an `https://` endpoint and `http_proxy` / `HTTP_PROXY` for an `http://` one, unless `no_proxy` / `NO_PROXY`
 *   names the endpoint's host or the endpoint is loopback (a collector or sidecar on the same host is never behind
 *   the proxy). `proxy: false` ignores the environment.
 * - How: an `https://` endpoint is reached through a `CONNECT` tunnel, so the proxy sees only the host name and the
 *   TLS handshake is end to end with the collector (its certificate checked as without a proxy). An `http://` endpoint
 *   is requested from the proxy in absolute form, as HTTP/1.1 proxies expect.
 * - Credentials in the proxy URL (`http://user:pass@proxy:3128`) are sent as `Proxy-Authorization: Basic`. Only the
 *   proxy's host and port ever appear in a message.
 *
 * Node.js 20 has no proxy support of its own for `node:http`; this is the part of it the transport needs.
 */
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions, request as httpsRequest } from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { createTrustedProxies, normaliseAddress } from './proxy.js';

export interface OutboundProxy {
  readonly url: URL;
  /** `Basic …` when the proxy URL holds credentials. */
  readonly authorization: string | undefined;
  /** `host:port` of the proxy: what messages name (never the credentials). */
  readonly display: string;
}

/** The error the tunnel reports when the proxy itself fails or refuses; the transport names it once. */
export class ProxyError extends Error {
  override readonly name = 'ProxyError';
}

/**
 * Parse a proxy URL. A bare `host:port` (as `HTTPS_PROXY=proxy.internal:3128` is often written) means `http://`.
 * `{ invalid }`, with the reason, when it is not an http(s) URL with a host.
 */
export function parseProxy(value: string): OutboundProxy | { invalid: string } {
  const text = value.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    return { invalid: 'it is not a URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { invalid: `${url.protocol.slice(0, -1)} proxies are not supported (only http:// and https://)` };
  }
  if (url.hostname === '') return { invalid: 'it has no host' };
  let user: string;
  let password: string;
  try {
    user = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
  } catch {
    return { invalid: 'its credentials are not valid percent-encoding' };
  }
  return {
    url,
    authorization:
      user || password ? `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}` : undefined,
    display: `${url.hostname}:${portOf(url)}`, // an IPv6 hostname keeps its brackets here
  };
}

function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

function hostOf(url: URL): string {
  const host = url.hostname.toLowerCase();
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return (
    h === 'localhost' || h.endsWith('.localhost') || h === '[::1]' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h)
  );
}

/**
 * True when `no_proxy` names the target: `*`; a host name, which also covers its subdomains (`example.com`,
 * `.example.com` and `*.example.com` alike); an IP address or CIDR block; any of these with `:port` to match only
 * that port. Entries are separated by commas or white space.
 */
export function bypassesProxy(target: URL, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false;
  const host = hostOf(target);
  const port = portOf(target);
  const address = normaliseAddress(host);
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    // An entry's port: "host:8443", "[::1]:8443"; a bare IPv6 address has colons but no port.
    const portMatch = /^(.*[^:]):(\d+)$/.exec(entry);
    if (portMatch && (entry.startsWith('[') || isIP(entry) === 0)) {
      if (Number(portMatch[2]) !== port) continue;
      entry = portMatch[1]!;
    }
    if (entry.startsWith('[') && entry.endsWith(']')) entry = entry.slice(1, -1);
    if (address !== undefined) {
      if (createTrustedProxies([entry]).proxies.trusts(address)) return true;
      continue;
    }
    const name = entry.replace(/^\*?\./, '');
    if (name !== '' && (host === name || host.endsWith(`.${name}`))) return true;
  }
  return false;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Both spellings of a proxy variable; the lower-case one wins, as in curl. Blank counts as unset. */
function variable(env: Env, name: string): string | undefined {
  for (const value of [env[name.toLowerCase()], env[name.toUpperCase()]]) {
    if (value !== undefined && value.trim() !== '') return value;
  }
  return undefined;
}

/**
 * The proxy for requests to `target`: the `proxy` option when it is a URL, none when it is `false`, otherwise the
 * environment (see the module comment). `invalid` says why a given proxy URL was not usable.
 */
export function proxyFor(
  target: URL,
  option: string | false | undefined,
  env: Env,
): { proxy: OutboundProxy | undefined; invalid?: string } {
  if (option === false) return { proxy: undefined };
  let source: string;
  let value: string | undefined;
  if (option !== undefined) {
    source = 'option proxy';
    value = option;
  } else {
    source = target.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
    value = variable(env, source);
    if (value === undefined) return { proxy: undefined };
    if (isLoopbackHost(hostOf(target)) || bypassesProxy(target, variable(env, 'NO_PROXY'))) return { proxy: undefined };
  }
  const parsed = parseProxy(value);
  if ('invalid' in parsed) return { proxy: undefined, invalid: `${source}: ${parsed.invalid}` };
  return { proxy: parsed };
}

/** Request options that send a request for `target` to the proxy in absolute form (an `http://` endpoint). */
export function forwardThrough(
  proxy: OutboundProxy,
  target: URL,
): { url: URL; path: string; servername: string; headers: Record<string, string> } {
  const host = hostOf(proxy.url);
  return {
    url: proxy.url,
    path: target.href,
    // An https:// proxy is verified as the proxy: Node.js would otherwise take the name from the Host header, which
    // names the collector. No name for an IP address (TLS does not send one; the address is checked instead).
    servername: isIP(host) === 0 ? host : '',
    headers: { host: target.host, ...(proxy.authorization ? { 'proxy-authorization': proxy.authorization } : {}) },
  };
}

/** The agent for an `http://` endpoint through a proxy: kept-alive connections to the proxy. */
export function forwardingAgent(proxy: OutboundProxy, options: HttpsAgentOptions): HttpAgent {
  return proxy.url.protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
}

/** How requests reach a target: the agent to send them with, and for an `http://` target behind a proxy, where to. */
export interface OutboundRoute {
  readonly agent: HttpAgent;
  readonly forward: ReturnType<typeof forwardThrough> | undefined;
}

/**
 * The route to `target`: one kept-alive connection (at most one request is in flight), through `proxy` when there is
 * one, trusting `ca` on top of the roots Node.js bundles (Node.js's own `ca` replaces them; NODE_EXTRA_CA_CERTS keeps
 * them, and so does this). Idle sockets are unref()ed by the agent; `unrefTunnels` unrefs tunnels in use too.
 */
export function agentFor(
  target: URL,
  proxy: OutboundProxy | undefined,
  options: { ca?: readonly string[]; connectTimeoutMillis: number; unrefTunnels?: boolean },
): OutboundRoute {
  const agentOptions = {
    keepAlive: true,
    maxSockets: 1,
    maxFreeSockets: 1,
    ...(options.ca?.length ? { ca: [...rootCertificates, ...options.ca] } : {}),
  };
  if (target.protocol === 'https:') {
    const agent = proxy
      ? new TunnelAgent(proxy, agentOptions, options.connectTimeoutMillis, options.unrefTunnels)
      : new HttpsAgent(agentOptions);
    return { agent, forward: undefined };
  }
  if (proxy) return { agent: forwardingAgent(proxy, agentOptions), forward: forwardThrough(proxy, target) };
  return { agent: new HttpAgent(agentOptions), forward: undefined };
}

/**
 * An https agent whose connections are `CONNECT` tunnels through the proxy; TLS to the collector runs inside the
 * tunnel with this agent's own options (`ca`, server name). Tunnels waiting for the proxy are ended by `destroy()`.
 */
export class TunnelAgent extends HttpsAgent {
  private readonly pending = new Set<ClientRequest>();

  /** `unrefTunnels`: the connections to the proxy never keep the process alive (a poll held open for long). */
  constructor(
    private readonly proxy: OutboundProxy,
    options: HttpsAgentOptions,
    private readonly connectTimeoutMillis: number,
    private readonly unrefTunnels = false,
  ) {
    super(options);
  }

  // Node.js's Agent takes the socket from the callback when this returns nothing (documented for createConnection).
  override createConnection(
    options: RequestOptions,
    created?: (error: Error | null, socket: Duplex) => void,
  ): Duplex | null | undefined {
    const authority = `${options.host?.includes(':') ? `[${options.host}]` : options.host}:${options.port ?? 443}`;
    const proxy = this.proxy;
    const send = proxy.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const connect = send({
      protocol: proxy.url.protocol,
      hostname: hostOf(proxy.url),
      port: portOf(proxy.url),
      method: 'CONNECT',
      path: authority,
      agent: false,
      // A TLS proxy is checked with the same trust as the collector.
      ...(proxy.url.protocol === 'https:' && this.options.ca !== undefined ? { ca: this.options.ca } : {}),
      headers: { host: authority, ...(proxy.authorization ? { 'proxy-authorization': proxy.authorization } : {}) },
    });
    this.pending.add(connect);
    if (this.unrefTunnels) connect.on('socket', (socket: Socket) => socket.unref());
    let settled = false;
    const finish = (error: Error | null, socket?: Duplex) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.pending.delete(connect);
      created?.(error, socket as Duplex);
    };
    const timer = setTimeout(
      () => connect.destroy(new ProxyError(`the proxy ${proxy.display} did not open a tunnel in time`)),
      this.connectTimeoutMillis,
    ).unref();
    // Node.js answers every response to a CONNECT with this event, whatever its status.
    connect.once('connect', (response: IncomingMessage, socket: Socket) => {
      if (response.statusCode !== 200) {
        socket.destroy();
        finish(
          new ProxyError(
            `the proxy ${proxy.display} refused the tunnel to ${authority}: HTTP ${response.statusCode}` +
              (response.statusCode === 407 ? ' (it wants credentials: http://user:password@host:port)' : ''),
          ),
        );
        return;
      }
      try {
        // https's own createConnection: TLS over the tunnel, with this agent's ca, server name and session cache.
        finish(null, super.createConnection({ ...options, socket } as RequestOptions) ?? undefined);
      } catch (error) {
        socket.destroy();
        finish(error as Error);
      }
    });
    connect.once('error', (error: Error) =>
      finish(
        error instanceof ProxyError
          ? error
          : new ProxyError(`could not reach the proxy ${proxy.display}: ${error.message}`),
      ),
    );
    connect.end();
    return undefined;
  }

  override destroy(): void {
    for (const connect of this.pending) connect.destroy(new ProxyError('shut down'));
    this.pending.clear();
    super.destroy();
  }
}
