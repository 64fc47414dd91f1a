/**
 * Let the worker's event loop turn between tests. Many end-to-end tests run the CLI with
 * `spawnSync`, and the runner awaits a synchronous test only through microtasks: back-to-back
 * synchronous tests of one file would otherwise keep the loop from reading vitest's RPC replies
 * for longer than its 60 s RPC timeout ("Timeout calling onTaskUpdate", an unhandled error that
 * fails a green run). `setImmediate` resolves after a poll phase, where those replies are read.
 */
import { afterEach, beforeEach } from 'vitest';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

beforeEach(turn);
afterEach(turn);
