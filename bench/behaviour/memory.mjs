// Memory of the behaviour state at scale: 100,000 principals and 1,000 endpoints, built from synthetic traffic
// spread over a day (each principal makes requests to a handful of endpoints, from a country, a network and a
// device, touching a few objects). Run in its own process so that the measured RSS is the state's, not the
// simulation's. Prints one JSON line.
import { createBehaviourDetector } from '../../packages/engine/dist/index.js';

const PRINCIPALS = Number(process.env.BENCH_BEHAVIOUR_PRINCIPALS ?? 100_000);
const ENDPOINTS = Number(process.env.BENCH_BEHAVIOUR_ENDPOINTS ?? 1_000);
const EVENTS_PER_PRINCIPAL = 12;
const START = Date.UTC(2026, 2, 2);
const DAY = 86_400_000;

const gc = globalThis.gc ?? (() => {});
gc();
const before = process.memoryUsage();
const detector = createBehaviourDetector();
const total = PRINCIPALS * EVENTS_PER_PRINCIPAL;
const countries = ['DE', 'FR', 'GB', 'US', 'NL', 'ES', 'IT', 'SE'];
// Events are generated in time order (i-th event at START + i * DAY / total) without holding them all.
for (let i = 0; i < total; i++) {
  const p = (i * 7919) % PRINCIPALS;
  const endpoint = (p * 31 + (i % 5) * 97) % ENDPOINTS;
  const anonymous = p % 10 === 0;
  detector.process({
    id: `m${i}`,
    time: START + Math.floor((i * DAY) / total),
    type: 'http_request',
    attributes: {
      'http.request.method': endpoint % 3 === 0 ? 'POST' : 'GET',
      'http.route': `/service${endpoint % 40}/resource${endpoint}/{id}`,
      'url.path': `/service${endpoint % 40}/resource${endpoint}/${(p * 13 + i) % 5000}`,
      'http.response.status_code': i % 50 === 0 ? 404 : 200,
      'http.server.request.duration': 0.02 + (i % 7) / 100,
      'http.response.body.size': 500 + (i % 3000),
      'client.address': `10.${(p >> 16) & 255}.${(p >> 8) & 255}.${p & 255}`,
      'client.geo.country_iso_code': countries[p % countries.length],
      'client.as.number': 3320 + (p % 50),
      'user_agent.original': `Mozilla/5.0 synthetic-${p % 20}`,
      ...(anonymous ? {} : { 'user.id': `u${p}`, 'user.roles': [`role${p % 5}`], 'vigil.tenant.id': `t${p % 100}` }),
    },
  });
}
// Let V8 collect and give back the pages that processing garbage left (the state is what stays).
for (let i = 0; i < 3; i++) {
  gc();
  await new Promise((r) => setTimeout(r, 200));
}
const after = process.memoryUsage();
const peakRssBytes = process.resourceUsage().maxRSS * 1024;
const stats = detector.stats();
// Measured before the snapshot: serialising is a transient peak, not the state's footprint.
const snapshotBytes = Buffer.byteLength(JSON.stringify(detector.snapshot()));
console.log(
  JSON.stringify({
    principals: stats.principals,
    endpoints: stats.endpoints,
    events: total,
    heapMB: (after.heapUsed - before.heapUsed) / 1e6,
    heapTotalMB: after.heapTotal / 1e6,
    externalMB: after.external / 1e6,
    rssMB: after.rss / 1e6,
    peakRssMB: peakRssBytes / 1e6,
    peakRssWithSnapshotMB: (process.resourceUsage().maxRSS * 1024) / 1e6,
    snapshotMB: snapshotBytes / 1e6,
  }),
);
