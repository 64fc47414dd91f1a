// HTTP routing for the payment API, built on node:http only.
import { createServer } from 'node:http';
import { PaymentStore, validatePayment } from './payments.js';

const MAX_BODY = 64 * 1024;

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch {
    throw Object.assign(new Error('body is not valid JSON'), { status: 400 });
  }
}

/** Create the HTTP server (not listening). `info` is reported by GET /healthz. */
export function createApp(info = {}) {
  const store = new PaymentStore();

  async function handle(req, res) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean);

    if (req.method === 'GET' && url.pathname === '/healthz') {
      return send(res, 200, { status: 'ok', ...info });
    }
    if (parts[0] !== 'payments') return send(res, 404, { error: 'not found' });

    if (parts.length === 1 && req.method === 'POST') {
      const body = await readJson(req);
      const problems = validatePayment(body);
      if (problems.length) return send(res, 422, { error: 'invalid payment', problems });
      return send(res, 201, store.create(body));
    }
    if (parts.length === 2 && req.method === 'GET') {
      const p = store.get(parts[1]);
      return p ? send(res, 200, p) : send(res, 404, { error: 'payment not found' });
    }
    if (parts.length === 3 && parts[2] === 'capture' && req.method === 'POST') {
      const p = store.capture(parts[1]);
      if (!p) return send(res, 404, { error: 'payment not found' });
      if (p.error) return send(res, 409, { error: p.error });
      return send(res, 200, p);
    }
    return send(res, 405, { error: 'method not allowed' });
  }

  return createServer((req, res) => {
    handle(req, res).catch((err) => send(res, err.status ?? 500, { error: err.status ? err.message : 'internal error' }));
  });
}
