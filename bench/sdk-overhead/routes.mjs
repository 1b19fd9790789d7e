// The two routes the SDK benchmarks (sdk-overhead, sdk-instructions) request from app.mjs: hello-world, and a
// realistic JSON route (parse a JSON body, read a route parameter, answer ~1 KB of JSON). Autocannon request options.
export const ROUTES = {
  hello: { method: 'GET', path: '/hello' },
  json: {
    method: 'POST',
    path: '/orders/4711',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      customer: 'c-1029',
      currency: 'EUR',
      address: { street: '1 Example Road', city: 'Exampleton', postcode: 'EX1 2MP', country: 'GB' },
      items: [
        { sku: 'BOOK-0001', quantity: 2, price: 12.5 },
        { sku: 'MUG-0042', quantity: 1, price: 8.99 },
        { sku: 'PEN-0100', quantity: 10, price: 1.2 },
        { sku: 'BAG-0007', quantity: 1, price: 24 },
      ],
    }),
  },
};
