// The load generator of the sdk-overhead benchmark, in its own process so that it shares neither the app's nor the
// collector's event loop: `node load.mjs '<autocannon options as JSON>'` prints autocannon's result as JSON.
import autocannon from 'autocannon';

const result = await autocannon(JSON.parse(process.argv[2]));
process.stdout.write(
  JSON.stringify({
    requests: result.requests.total,
    durationS: result.duration,
    errors: result.errors,
    non2xx: result.non2xx,
  }),
);
