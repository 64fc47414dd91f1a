// Entry point: listen on $PORT (default 8080) and stop cleanly on SIGTERM.
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 8080);
const server = createApp({
  environment: process.env.APP_ENV ?? 'local',
  version: process.env.GIT_SHA ?? 'dev',
});

server.listen(port, () => {
  console.log(`payment-api listening on :${port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
