/**
 * Generated traffic for the baseline tests: a small population (customers, support, admins, API keys and anonymous
 * visitors) with daily and weekly rhythms, deterministic from a seed. The full simulator with attack scenarios
 * lives in examples/simulator; this is its scaled-down twin for fast unit tests.
 */
import type { SecurityEvent } from '@vigil/schema';

export const DAY_MILLIS = 86_400_000;
/** A Monday. */
export const WEEK_START = Date.UTC(2026, 2, 2);

export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TestUser {
  readonly id: string;
  readonly role: 'customer' | 'support' | 'admin';
  readonly country: string;
  readonly asn: number;
  readonly address: string;
  readonly device: string;
  readonly account: number;
}

const COUNTRIES: readonly [string, number][] = [
  ['DE', 3320],
  ['FR', 3215],
  ['GB', 2856],
  ['US', 7922],
];
const DEVICES = ['Mozilla/5.0 Firefox/133.0', 'Mozilla/5.0 Chrome/131.0', 'Mozilla/5.0 Safari/605.1'];
const CUSTOMER_HOURS = [1, 0, 0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4, 4, 3, 3, 4, 5, 6, 7, 7, 6, 4, 2];
const STAFF_HOURS = [0, 0, 0, 0, 0, 0, 0, 1, 4, 6, 6, 5, 3, 5, 6, 6, 5, 3, 1, 0, 0, 0, 0, 0];

const ACTIONS: Readonly<Record<TestUser['role'], readonly [string, string, number][]>> = {
  customer: [
    ['GET', '/accounts/{id}', 5],
    ['GET', '/products', 3],
    ['GET', '/orders', 2],
    ['POST', '/orders', 1],
  ],
  support: [
    ['GET', '/customers/{id}', 5],
    ['GET', '/support/tickets', 3],
    ['GET', '/customers/{id}/export', 0.3],
  ],
  admin: [
    ['GET', '/admin/users', 4],
    ['GET', '/customers/{id}', 2],
    ['PUT', '/admin/users/{id}/roles', 0.5],
  ],
};

export interface TrafficOptions {
  readonly days?: number;
  readonly customers?: number;
  readonly support?: number;
  readonly admins?: number;
  readonly seed?: number;
}

export interface Traffic {
  readonly events: SecurityEvent[];
  readonly users: readonly TestUser[];
}

export function requestEvent(
  id: string,
  time: number,
  u: TestUser | undefined,
  method: string,
  route: string,
  fields: Record<string, string | number | string[]> = {},
): SecurityEvent {
  const path = route.replace('{id}', String(u?.account ?? 1));
  const attributes: Record<string, string | number | string[]> = {
    'http.request.method': method,
    'http.route': route,
    'url.path': path,
    'http.response.status_code': 200,
    'http.server.request.duration': 0.02,
    'http.response.body.size': 2000,
  };
  if (u) {
    Object.assign(attributes, {
      'client.address': u.address,
      'client.geo.country_iso_code': u.country,
      'client.as.number': u.asn,
      'user_agent.original': u.device,
      'user.id': u.id,
      'user.roles': [u.role],
    });
  }
  Object.assign(attributes, fields);
  for (const [k, v] of Object.entries(attributes)) if (v === '') delete attributes[k];
  return { id, time, type: 'http_request', attributes };
}

function pick<T>(rand: () => number, items: readonly T[], weight: (t: T) => number): T {
  let total = 0;
  for (const t of items) total += weight(t);
  let r = rand() * total;
  for (const t of items) {
    r -= weight(t);
    if (r <= 0) return t;
  }
  return items[items.length - 1]!;
}

/** A benign week (by default) of traffic, sorted by time then id. */
export function benignTraffic(options: TrafficOptions = {}): Traffic {
  const rand = prng(options.seed ?? 7);
  const days = options.days ?? 7;
  const users: TestUser[] = [];
  const counts: [TestUser['role'], number][] = [
    ['customer', options.customers ?? 40],
    ['support', options.support ?? 8],
    ['admin', options.admins ?? 4],
  ];
  for (const [role, n] of counts) {
    for (let i = 0; i < n; i++) {
      const index = users.length;
      const [country, asn] = COUNTRIES[index % COUNTRIES.length]!;
      users.push({
        id: String(1000 + index),
        role,
        country,
        asn,
        address: `192.0.2.${index % 250}`,
        device: DEVICES[index % DEVICES.length]!,
        account: 50_000 + index,
      });
    }
  }
  const events: SecurityEvent[] = [];
  let seq = 0;
  const id = () => `b${(seq++).toString(36).padStart(6, '0')}`;
  for (let day = 0; day < days; day++) {
    const dayStart = WEEK_START + day * DAY_MILLIS;
    const weekend = day % 7 >= 5;
    for (const u of users) {
      const staff = u.role !== 'customer';
      if (rand() > (staff ? (weekend ? 0.1 : 0.95) : 0.7)) continue;
      const sessions = staff ? 3 : 1 + Math.floor(rand() * 2);
      for (let s = 0; s < sessions; s++) {
        const hour = pick(rand, [...Array(24).keys()], (h) => (staff ? STAFF_HOURS : CUSTOMER_HOURS)[h]!);
        let t = dayStart + hour * 3_600_000 + Math.floor(rand() * 3_000_000);
        events.push(requestEvent(id(), t, u, 'POST', '/login'));
        const actions = 3 + Math.floor(rand() * (staff ? 20 : 8));
        for (let k = 0; k < actions; k++) {
          t += 3000 + Math.floor(rand() * 20_000);
          const [method, route] = pick(rand, ACTIONS[u.role], (a) => a[2]);
          const other: Record<string, string> = staff
            ? { 'url.path': route.replace('{id}', String(1000 + Math.floor(rand() * 40))) }
            : {};
          events.push(requestEvent(id(), t, u, method, route, other));
        }
      }
    }
    for (let v = 0; v < 30; v++) {
      let t = dayStart + pick(rand, [...Array(24).keys()], (h) => CUSTOMER_HOURS[h]!) * 3_600_000;
      t += Math.floor(rand() * 3_000_000);
      const address = `198.18.${day}.${v}`;
      for (let k = 0; k < 3; k++, t += 10_000) {
        events.push(
          requestEvent(id(), t, undefined, 'GET', '/products', {
            'client.address': address,
            'client.geo.country_iso_code': 'DE',
            'client.as.number': 3320,
            'user_agent.original': DEVICES[v % DEVICES.length]!,
          }),
        );
      }
      if (rand() < 0.2) {
        events.push(
          requestEvent(id(), t, undefined, 'POST', '/login', {
            'client.address': address,
            'http.response.status_code': 401,
          }),
        );
      }
    }
  }
  events.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1));
  return { events, users };
}

/** Merge planted events into a sorted stream. */
export function withPlanted(events: readonly SecurityEvent[], planted: readonly SecurityEvent[]): SecurityEvent[] {
  return [...events, ...planted].sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1));
}
