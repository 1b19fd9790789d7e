// Vigil traffic simulator: benign users of several roles and tenants with daily and weekly rhythms, plus planted
// attack scenarios with a ground truth. Deterministic: the same options give the same events, byte for byte.
// No dependencies; plain Node ESM so it runs without a build.

/** mulberry32: a small, fast, seeded PRNG (not for cryptography). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MINUTE = 60_000;

/** A Monday, so day 0 is a weekday and days 5 and 6 are the weekend. */
export const DEFAULT_START = Date.UTC(2026, 2, 2);

const COUNTRIES = {
  DE: { prefix: 91, isps: [3320, 6805, 8881], mobile: 3209, weight: 30 },
  FR: { prefix: 90, isps: [3215, 12322, 5410], mobile: 51207, weight: 15 },
  GB: { prefix: 81, isps: [2856, 5089, 5607], mobile: 12576, weight: 12 },
  US: { prefix: 73, isps: [7922, 701, 7018], mobile: 21928, weight: 15 },
  NL: { prefix: 84, isps: [1136, 33915, 9143], mobile: 20857, weight: 8 },
  ES: { prefix: 88, isps: [3352, 12479, 12430], mobile: 12357, weight: 8 },
  IT: { prefix: 93, isps: [3269, 30722, 1267], mobile: 24608, weight: 7 },
  SE: { prefix: 78, isps: [3301, 2119, 8473], mobile: 44034, weight: 5 },
};
const COUNTRY_CODES = Object.keys(COUNTRIES);

const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
];

/** Relative activity per UTC hour: customers peak in the evening, staff in office hours. */
const CUSTOMER_HOURS = [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 3, 3, 3, 4, 4, 3, 3, 4, 5, 6, 7, 7, 6, 4, 2];
const STAFF_HOURS = [0, 0, 0, 0, 0, 0, 0.2, 1, 4, 6, 6, 5, 3, 5, 6, 6, 5, 3, 1, 0.3, 0.1, 0, 0, 0];

/** Role → endpoints with weights, and how the route's path is filled in. */
const ACTIONS = {
  customer: [
    ['GET', '/accounts/{id}', 20, 'account'],
    ['GET', '/accounts/{id}/transactions', 15, 'account'],
    ['GET', '/products', 12, null],
    ['GET', '/products/{id}', 14, 'product'],
    ['GET', '/orders', 8, null],
    ['GET', '/orders/{id}', 8, 'order'],
    ['POST', '/orders', 3, null],
    ['GET', '/profile', 6, null],
    ['PUT', '/profile', 0.6, null],
    ['GET', '/invoices/{id}/pdf', 2, 'order'],
    ['POST', '/reports/generate', 0.5, null],
  ],
  support: [
    ['GET', '/support/tickets', 10, null],
    ['GET', '/support/tickets/{id}', 12, 'ticket'],
    ['POST', '/support/tickets/{id}/reply', 5, 'ticket'],
    ['GET', '/customers/{id}', 14, 'customer'],
    ['GET', '/customers/{id}/orders', 8, 'customer'],
    ['GET', '/customers/{id}/export', 0.6, 'customer'],
    ['GET', '/products/{id}', 3, 'product'],
  ],
  admin: [
    ['GET', '/admin/users', 8, null],
    ['GET', '/admin/users/{id}', 10, 'customer'],
    ['PUT', '/admin/users/{id}/roles', 0.8, 'customer'],
    ['GET', '/admin/audit', 5, null],
    ['POST', '/admin/reports/export', 0.5, null],
    ['GET', '/customers/{id}', 6, 'customer'],
    ['GET', '/support/tickets', 3, null],
  ],
};

const COSTLY = new Set(['POST /reports/generate', 'POST /admin/reports/export', 'GET /customers/{id}/export']);

function pickWeighted(rand, items, weightOf) {
  let total = 0;
  for (const it of items) total += weightOf(it);
  let r = rand() * total;
  for (const it of items) {
    r -= weightOf(it);
    if (r <= 0) return it;
  }
  return items[items.length - 1];
}

function hourOffset(rand, weights) {
  const hour = pickWeighted(rand, [...weights.keys()], (h) => weights[h]);
  return hour * HOUR + Math.floor(rand() * HOUR);
}

/**
 * Generate the events and the ground truth.
 * @param {{days?: number, users?: number, seed?: number, start?: number, attacks?: boolean, learningDays?: number}} options
 */
export function simulate(options = {}) {
  const days = options.days ?? 7;
  const userCount = options.users ?? 2000;
  const seed = options.seed ?? 1;
  const start = options.start ?? DEFAULT_START;
  const attacks = options.attacks ?? true;
  const rand = prng(seed);
  const events = [];
  let seq = 0;
  const emit = (time, fields) => {
    events.push({ id: `sim-${seed}-${(seq++).toString(36)}`, time: Math.round(time), type: 'http_request', ...fields });
  };
  const tenants = Array.from(
    { length: Math.max(3, Math.ceil(userCount / 100)) },
    (_, i) => `t${String(i + 1).padStart(2, '0')}`,
  );

  // --- the population ---
  const users = [];
  for (let i = 0; i < userCount; i++) {
    const r = rand();
    const role = r < 0.86 ? 'customer' : r < 0.96 ? 'support' : 'admin';
    const country = pickWeighted(rand, COUNTRY_CODES, (c) => COUNTRIES[c].weight);
    const c = COUNTRIES[country];
    const devices = [BROWSERS[Math.floor(rand() * BROWSERS.length)]];
    if (rand() < 0.5) devices.push(BROWSERS[Math.floor(rand() * BROWSERS.length)]);
    users.push({
      index: i,
      id: String(4000 + i),
      role,
      tenant: tenants[Math.floor(rand() * tenants.length)],
      country,
      isp: c.isps[Math.floor(rand() * c.isps.length)],
      mobile: c.mobile,
      address: `${c.prefix}.${(i >> 8) & 255}.${i & 255}.${10 + Math.floor(rand() * 200)}`,
      mobileAddress: `${c.prefix + 1}.${(i >> 8) & 255}.${i & 255}.${10 + Math.floor(rand() * 200)}`,
      devices,
      // How often they come: customers vary a lot, staff come every working day.
      activity: role === 'customer' ? 0.15 + 0.7 * rand() : 0.9,
      accounts: [100_000 + i * 3, 100_001 + i * 3].slice(0, 1 + Math.floor(rand() * 2)),
      orders: Array.from({ length: 2 + Math.floor(rand() * 6) }, (_, k) => 500_000 + i * 10 + k),
    });
  }
  const customers = users.filter((u) => u.role === 'customer');
  const customerIds = customers.map((u) => u.id);

  const requestFields = (u, via, method, route, objectKind, status = 200) => {
    let path = route;
    if (objectKind) {
      let id;
      if (objectKind === 'account') id = u.accounts[Math.floor(rand() * u.accounts.length)];
      else if (objectKind === 'order') id = u.orders[Math.floor(rand() * u.orders.length)];
      else if (objectKind === 'product') id = 1000 + Math.floor(rand() * 400);
      else if (objectKind === 'ticket') id = 70_000 + Math.floor(rand() * 5000);
      else id = customerIds[Math.floor(rand() * customerIds.length)];
      path = route.replace('{id}', String(id));
    }
    const key = `${method} ${route}`;
    const costly = COSTLY.has(key);
    const bytes = costly
      ? 100_000 + Math.floor(rand() * 300_000)
      : method === 'GET'
        ? 400 + Math.floor(rand() * 6000)
        : 80 + Math.floor(rand() * 300);
    return {
      'http.request.method': method,
      'http.route': route,
      'url.path': path,
      'http.response.status_code': status,
      'http.server.request.duration': Number(((costly ? 0.8 : 0.02) * (0.5 + rand() * 1.5)).toFixed(4)),
      'http.response.body.size': bytes,
      'client.address': via.address,
      'client.geo.country_iso_code': via.country,
      'client.as.number': via.asn,
      'user_agent.original': via.device,
      'user.id': u.id,
      'user.roles': [u.role],
      'vigil.tenant.id': u.tenant,
    };
  };

  // --- benign sessions ---
  let benignSessions = 0;
  for (let day = 0; day < days; day++) {
    const dayStart = start + day * DAY;
    const weekend = new Date(dayStart).getUTCDay() % 6 === 0;
    for (const u of users) {
      const staff = u.role !== 'customer';
      const pActive = staff ? (weekend ? 0.15 : u.activity) : u.activity * (weekend ? 1.2 : 1);
      if (rand() >= pActive) continue;
      const sessions = staff ? 2 + Math.floor(rand() * 3) : 1 + Math.floor(rand() * rand() * 3);
      for (let s = 0; s < sessions; s++) {
        benignSessions++;
        let t = dayStart + hourOffset(rand, staff ? STAFF_HOURS : CUSTOMER_HOURS);
        const onMobile = rand() < 0.25;
        const via = {
          address: onMobile ? u.mobileAddress : u.address,
          country: u.country,
          asn: onMobile ? u.mobile : u.isp,
          device: u.devices[Math.floor(rand() * u.devices.length)],
        };
        // Login (a mistyped password now and then: anonymous 401).
        if (rand() < 0.06) {
          emit(t, {
            ...requestFields(u, via, 'POST', '/login', null, 401),
            'user.id': undefined,
            'user.roles': undefined,
          });
          t += 5000 + rand() * 20_000;
        }
        emit(t, requestFields(u, via, 'POST', '/login', null, 200));
        const actions = staff ? 10 + Math.floor(rand() * 40) : 3 + Math.floor(rand() * 18);
        for (let k = 0; k < actions; k++) {
          t += 2000 + rand() * (staff ? 40_000 : 25_000);
          const [method, route, , kind] = pickWeighted(rand, ACTIONS[u.role], (a) => a[2]);
          const status = rand() < 0.01 ? 404 : rand() < 0.003 ? 500 : 200;
          emit(t, requestFields(u, via, method, route, kind, status));
        }
      }
    }
    // Anonymous visitors browse the catalogue.
    const visitors = Math.round(userCount * 0.4 * (weekend ? 1.3 : 1));
    for (let v = 0; v < visitors; v++) {
      const country = pickWeighted(rand, COUNTRY_CODES, (c) => COUNTRIES[c].weight);
      const c = COUNTRIES[country];
      const via = {
        'client.address': `${c.prefix + 2}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`,
        'client.geo.country_iso_code': country,
        'client.as.number': c.isps[Math.floor(rand() * c.isps.length)],
        'user_agent.original': BROWSERS[Math.floor(rand() * BROWSERS.length)],
      };
      let t = dayStart + hourOffset(rand, CUSTOMER_HOURS);
      const pages = 1 + Math.floor(rand() * 8);
      for (let k = 0; k < pages; k++) {
        const product = rand() < 0.6;
        const id = 1000 + Math.floor(rand() * 400);
        emit(t, {
          'http.request.method': 'GET',
          'http.route': product ? '/products/{id}' : '/products',
          'url.path': product ? `/products/${id}` : '/products',
          'http.response.status_code': rand() < 0.02 ? 404 : 200,
          'http.server.request.duration': Number((0.01 + rand() * 0.04).toFixed(4)),
          'http.response.body.size': 500 + Math.floor(rand() * 8000),
          ...via,
        });
        t += 3000 + rand() * 30_000;
      }
    }
    // Tenant integrations: an API key polling orders in office hours, a report now and then.
    for (const tenant of tenants) {
      if (weekend && rand() < 0.7) continue;
      const key = `key_${tenant}`;
      const via = {
        'client.address': `10.20.${tenants.indexOf(tenant)}.5`,
        'client.geo.country_iso_code': 'DE',
        'client.as.number': 24940,
        'user_agent.original': 'tenant-sync/2.3 (+https://example.com)',
      };
      for (let m = 7 * 60; m < 19 * 60; m += 5) {
        const t = dayStart + m * MINUTE + Math.floor(rand() * 30_000);
        const report = rand() < 1 / 24;
        emit(t, {
          'http.request.method': report ? 'POST' : 'GET',
          'http.route': report ? '/reports/generate' : '/api/v2/orders',
          'url.path': report ? '/reports/generate' : '/api/v2/orders',
          'http.response.status_code': 200,
          'http.server.request.duration': Number(((report ? 0.9 : 0.05) * (0.5 + rand())).toFixed(4)),
          'http.response.body.size': report
            ? 150_000 + Math.floor(rand() * 100_000)
            : 2000 + Math.floor(rand() * 20_000),
          'vigil.api_key.id': key,
          'vigil.tenant.id': tenant,
          ...via,
        });
      }
    }
  }

  // --- attacks ---
  const truth = [];
  if (attacks) {
    // Victims and insiders are regulars: the principals with the most benign requests in the first two days.
    const history = new Map();
    for (const e of events) {
      if (e.time < start + 2 * DAY && e['user.id'] !== undefined) {
        history.set(e['user.id'], (history.get(e['user.id']) ?? 0) + 1);
      }
    }
    const pick = (role, n) =>
      users
        .filter((u) => u.role === role)
        .sort((a, b) => (history.get(b.id) ?? 0) - (history.get(a.id) ?? 0) || a.index - b.index)
        .slice(0, n);
    const [bolaUser, atoVictim] = pick('customer', 2);
    const [insider] = pick('support', 1);
    // Attacks start after the learning day, at different hours and days.
    const at = (day, hour, minute = 0) =>
      start + Math.min(day, days - 1) * DAY + hour * HOUR + minute * MINUTE + 17_000;

    // 1. BOLA scraping: a customer walks /accounts/{id} through other people's ids, one every 1.5 s for 20 min.
    {
      const t0 = at(2, 14, 3);
      const u = bolaUser;
      const via = { address: u.address, country: u.country, asn: u.isp, device: u.devices[0] };
      let t = t0;
      for (let k = 0; k < 800; k++, t += 1500) {
        const f = requestFields(u, via, 'GET', '/accounts/{id}', null, 200);
        f['url.path'] = `/accounts/${100_000 + k}`;
        emit(t, f);
      }
      truth.push({
        scenario: 'bola-scraping',
        entity: { 'user.id': u.id },
        endpoints: ['GET /accounts/{id}'],
        start: t0,
        end: t,
      });
    }
    // 2. Slow credential stuffing: 400 addresses, 1-2 attempts each, about 12 attempts a minute for an hour.
    {
      const t0 = at(3, 2, 41);
      const actors = [];
      let t = t0;
      for (let k = 0; k < 720; k++) {
        const n = Math.floor(k / 1.8);
        const address = `${[185, 45, 103, 194][n % 4]}.${(n * 7) % 256}.${(n * 13) % 256}.${(n * 29) % 256}`;
        if (!actors.includes(address)) actors.push(address);
        emit(t, {
          'http.request.method': 'POST',
          'http.route': '/login',
          'url.path': '/login',
          'http.response.status_code': 401,
          'http.server.request.duration': 0.15,
          'http.response.body.size': 60,
          'client.address': address,
          'client.geo.country_iso_code': ['VN', 'BR', 'IN', 'RU'][n % 4],
          'client.as.number': [7552, 28573, 9829, 12389][n % 4],
          'user_agent.original': BROWSERS[n % BROWSERS.length],
        });
        t += 5000 * (0.5 + rand());
      }
      truth.push({
        scenario: 'credential-stuffing',
        entity: { 'http.route': '/login', 'http.request.method': 'POST' },
        endpoints: ['POST /login'],
        actors,
        start: t0,
        end: t,
      });
    }
    // 3. Account takeover: the victim's password is used from Brazil, a hosting network and a script.
    {
      const t0 = at(3, 19, 12);
      const u = atoVictim;
      const via = { address: '177.54.12.99', country: 'BR', asn: 28573, device: 'python-requests/2.32.3' };
      let t = t0;
      emit(t, requestFields(u, via, 'POST', '/login', null, 200));
      for (const [method, route, kind] of [
        ['GET', '/profile', null],
        ['PUT', '/profile', null],
        ['GET', '/accounts/{id}', 'account'],
        ['GET', '/accounts/{id}/transactions', 'account'],
        ['GET', '/orders', null],
        ['POST', '/orders', null],
      ]) {
        t += 20_000 + rand() * 40_000;
        emit(t, requestFields(u, via, method, route, kind, 200));
      }
      truth.push({
        scenario: 'account-takeover',
        entity: { 'user.id': u.id },
        endpoints: ['POST /login', 'GET /profile', 'PUT /profile', 'GET /accounts/{id}', 'GET /orders', 'POST /orders'],
        start: t0,
        end: t,
      });
    }
    // 4. Rate abuse: a tenant's API key hammers the costly report endpoint, twice a second for 15 minutes.
    {
      const t0 = at(4, 10, 26);
      const tenant = tenants[1];
      let t = t0;
      for (let k = 0; k < 1800; k++, t += 500) {
        emit(t, {
          'http.request.method': 'POST',
          'http.route': '/reports/generate',
          'url.path': '/reports/generate',
          'http.response.status_code': 200,
          'http.server.request.duration': 1.2,
          'http.response.body.size': 180_000,
          'client.address': `10.20.1.5`,
          'client.geo.country_iso_code': 'DE',
          'client.as.number': 24940,
          'user_agent.original': 'tenant-sync/2.3 (+https://example.com)',
          'vigil.api_key.id': `key_${tenant}`,
          'vigil.tenant.id': tenant,
        });
      }
      truth.push({
        scenario: 'rate-abuse',
        entity: { 'vigil.api_key.id': `key_${tenant}` },
        endpoints: ['POST /reports/generate'],
        start: t0,
        end: t,
      });
    }
    // 5. Insider: a support agent exports customer after customer, about 15 a minute for 25 minutes.
    {
      const t0 = at(5, 16, 48);
      const u = insider;
      const via = { address: u.address, country: u.country, asn: u.isp, device: u.devices[0] };
      let t = t0;
      for (let k = 0; k < 375; k++) {
        const f = requestFields(u, via, 'GET', '/customers/{id}/export', null, 200);
        f['url.path'] = `/customers/${customerIds[k % customerIds.length]}/export`;
        emit(t, f);
        t += 4000 * (0.5 + rand());
      }
      truth.push({
        scenario: 'insider-export',
        entity: { 'user.id': u.id },
        endpoints: ['GET /customers/{id}/export'],
        start: t0,
        end: t,
      });
    }
    // 6. A scanner: one address probing paths that do not exist and routes it may not call, four a second.
    {
      const t0 = at(6, 4, 7);
      const address = '198.51.100.23';
      const probes = [
        '/.env',
        '/wp-login.php',
        '/admin',
        '/api/v1/debug',
        '/.git/config',
        '/phpmyadmin/',
        '/server-status',
      ];
      const routes = ['/admin/users', '/customers/{id}', '/accounts/{id}', '/admin/audit'];
      let t = t0;
      for (let k = 0; k < 2400; k++, t += 250) {
        const known = k % 5 === 0;
        const route = known ? routes[k % routes.length] : undefined;
        emit(t, {
          'http.request.method': 'GET',
          ...(route ? { 'http.route': route } : {}),
          'url.path': route
            ? route.replace('{id}', String(k))
            : `${probes[k % probes.length]}${k > 7 ? `?v=${k}` : ''}`,
          'http.response.status_code': known ? 401 : 404,
          'http.server.request.duration': 0.004,
          'http.response.body.size': 120,
          'client.address': address,
          'client.geo.country_iso_code': 'NL',
          'client.as.number': 14061,
          'user_agent.original':
            'Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))',
        });
      }
      truth.push({
        scenario: 'scanner',
        entity: { 'client.address': address },
        endpoints: routes.map((r) => `GET ${r}`),
        start: t0,
        end: t,
      });
    }
  }

  // Drop undefined fields (anonymous logins) and order by event time, then id.
  for (const e of events) for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  events.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    events,
    truth,
    stats: { days, users: userCount, seed, start, tenants: tenants.length, events: events.length, benignSessions },
  };
}
