// The README quickstart, runnable: an Express app whose failed logins Vigil turns into an alert.
//
//   VIGIL_INGEST_TOKEN=... node examples/express-quickstart/app.mjs
//
// VIGIL_ENDPOINT (default http://127.0.0.1:7070) names the Vigil server, PORT (default 3000) the app's port.

import { createVigil } from '@vigil/sdk';
import { vigilErrorHandler, vigilExpress } from '@vigil/sdk/express';
import express from 'express';

const vigil = createVigil({ endpoint: process.env.VIGIL_ENDPOINT ?? 'http://127.0.0.1:7070', service: 'shop-api' }); // token from VIGIL_INGEST_TOKEN
const app = express();
app.use(vigilExpress(vigil)); // first: every request becomes an http_request event
app.use(express.json());

app.post('/login', (req, res) => {
  const ok = req.body?.password === 'correct horse battery staple';
  if (ok) vigil.authn.loginSuccess(req.body.user);
  else vigil.authn.loginFail(req.body?.user, { reason: 'bad_password' }); // bound to this request
  res.sendStatus(ok ? 204 : 401);
});
app.use(vigilErrorHandler());

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`shop-api listening on http://127.0.0.1:${server.address().port}`);
});

// Stop cleanly on SIGTERM: stop accepting requests; the SDK sends what it still holds before the process ends.
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  vigil.close();
});
