import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createApp } from '../src/app.js';
import { validatePayment } from '../src/payments.js';

let server;
let base;

before(async () => {
  server = createApp({ environment: 'test' });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => new Promise((resolve) => server.close(resolve)));

const post = (path, body) =>
  fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('GET /healthz reports ok', async () => {
  const res = await fetch(`${base}/healthz`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: 'ok', environment: 'test' });
});

test('a payment is created, read back and captured once', async () => {
  const created = await post('/payments', { amount: 1250, currency: 'EUR', reference: 'order-42' });
  assert.equal(created.status, 201);
  const payment = await created.json();
  assert.match(payment.id, /^pay_/);
  assert.equal(payment.status, 'authorized');

  const read = await fetch(`${base}/payments/${payment.id}`);
  assert.equal(read.status, 200);
  assert.equal((await read.json()).amount, 1250);

  const captured = await post(`/payments/${payment.id}/capture`, {});
  assert.equal((await captured.json()).status, 'captured');
  const again = await post(`/payments/${payment.id}/capture`, {});
  assert.equal(again.status, 409);
});

test('invalid payments are rejected with the reasons', async () => {
  const res = await post('/payments', { amount: -5, currency: 'XXX' });
  assert.equal(res.status, 422);
  assert.equal((await res.json()).problems.length, 2);
});

test('unknown payments and routes are 404', async () => {
  assert.equal((await fetch(`${base}/payments/pay_missing`)).status, 404);
  assert.equal((await fetch(`${base}/nope`)).status, 404);
});

test('validatePayment', () => {
  assert.deepEqual(validatePayment({ amount: 1, currency: 'USD' }), []);
  assert.deepEqual(validatePayment(null), ['body must be a JSON object']);
  assert.equal(validatePayment({ amount: 1.5, currency: 'USD' }).length, 1);
});
