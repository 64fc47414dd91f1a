// In-memory payment store and validation rules (no dependencies).
import { randomUUID } from 'node:crypto';

export const CURRENCIES = new Set(['EUR', 'GBP', 'USD']);

/** Validate a payment request; returns a list of problems (empty when valid). */
export function validatePayment(body) {
  const problems = [];
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return ['body must be a JSON object'];
  if (!Number.isInteger(body.amount) || body.amount <= 0) problems.push('amount must be a positive integer (minor units, e.g. cents)');
  if (typeof body.currency !== 'string' || !CURRENCIES.has(body.currency)) problems.push(`currency must be one of ${[...CURRENCIES].join(', ')}`);
  if (body.reference !== undefined && (typeof body.reference !== 'string' || body.reference.length > 140)) problems.push('reference must be a string of at most 140 characters');
  return problems;
}

export class PaymentStore {
  #payments = new Map();

  create({ amount, currency, reference }) {
    const payment = { id: `pay_${randomUUID()}`, amount, currency, reference: reference ?? null, status: 'authorized', created_at: new Date().toISOString() };
    this.#payments.set(payment.id, payment);
    return payment;
  }

  get(id) {
    return this.#payments.get(id);
  }

  capture(id) {
    const p = this.#payments.get(id);
    if (!p) return undefined;
    if (p.status !== 'authorized') return { error: `payment is ${p.status}` };
    p.status = 'captured';
    return p;
  }

  get size() {
    return this.#payments.size;
  }
}
