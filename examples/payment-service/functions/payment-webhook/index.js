// Receives the payment provider's webhooks and acknowledges them. Packaged by the `zip`
// component type into a reproducible archive (deployments/payment-webhooks.yaml).
exports.handler = async (event) => {
  const body = JSON.parse(event.body ?? '{}');
  return { statusCode: 200, body: JSON.stringify({ received: body.type ?? 'unknown' }) };
};
