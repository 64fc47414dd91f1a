/**
 * The dashboard in a real browser: Playwright (playwright-core, no browser download) driving
 * Debian's Chromium (/usr/bin/chromium, installed by .ci/run) against `atmos-pipe ui` on the
 * bundled example after a dev rollout. Every view loads and shows what the read commands print
 * (`status`, `promotion-status`, `history`, `releases`, `diff` as JSON), the grid follows a
 * rollout made by another process (server-sent events), and no page logs an error.
 * Screenshots go to test-results/ui/ (git-ignored).
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleGitRepo, GIT_ENV, ROOT, runCli } from '../helpers.js';
import { serveUi, type Served } from './serve.js';

const SHOTS = path.join(ROOT, 'test-results/ui');
const CHROMIUM = '/usr/bin/chromium';

let repo: string;
let ui: Served;
let browser: Browser;
let page: Page;
const problems: string[] = [];

const json = (...args: string[]) => {
  const r = runCli(['--chdir', repo, ...args, '--format', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};
const rollout = (...args: string[]) => {
  const r = runCli(['--chdir', repo, 'rollout', 'payment-service', ...args], { env: { ...GIT_ENV, ATMOS_PIPE_USER: 'dev@example.com' } });
  expect(r.code, r.stdout + r.stderr).toBe(0);
};
const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
const go = async (p: string) => {
  const res = await page.goto(new URL(p, ui.url).href);
  expect(res?.status(), p).toBe(200);
};

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  repo = exampleGitRepo('atmos-pipe-ui-browser-');
  rollout('--target', 'dev');
  ui = await serveUi(repo);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // The event stream is cut when a page is left: not a failure of the page.
    if (!r.url().endsWith('/events')) problems.push(`request failed: ${r.url()}`);
  });
});

afterAll(async () => {
  await browser?.close();
  expect(await ui?.stop()).toBe(0);
});

describe('atmos-pipe ui in Chromium', () => {
  it('the grid shows what status shows, with the pending promotion marked', async () => {
    const status = json('status', 'payment-service') as { target: string; release: string; commit: string; deployed_by: string }[];
    await go('/');
    await expect(page.title()).resolves.toBe('What runs where · atmos-pipe');
    const dev = page.locator('td[data-deployment="payment-service"][data-target="dev"]');
    await expect(dev.getAttribute('data-release')).resolves.toBe(status[0].release);
    await expect(dev.getAttribute('data-status')).resolves.toBe('success');
    const text = await dev.textContent();
    expect(text).toContain(status[0].release);
    expect(text).toContain(status[0].commit.slice(0, 12));
    expect(text).toContain('dev@example.com');
    expect(text).toContain('success');
    const staging = page.locator('td[data-deployment="payment-service"][data-target="staging"]');
    await expect(staging.getAttribute('data-status')).resolves.toBe('never');
    const promo = json('promotion-status', 'payment-service') as { edges: { to: string; state: string }[] };
    expect(promo.edges.find((e) => e.to === 'staging')!.state).toBe('pending');
    expect(await staging.textContent()).toContain(`promotion pending ${status[0].release} from dev`);
    // Semantic table: column and row headers.
    await expect(page.locator('table.grid thead th[scope="col"]').allTextContents()).resolves.toEqual(['Deployment', 'dev', 'staging', 'prod']);
    expect(await page.locator('table.grid tbody th[scope="row"]').count()).toBe(3);
    // Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    await page.keyboard.press('Tab');
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Skip to content');
    await shot('grid');
  });

  it('filters the grid by label', async () => {
    await go('/');
    await page.fill('#label', 'team=payments');
    await page.press('#label', 'Enter');
    await page.waitForURL(/label=team%3Dpayments/);
    const listed = json('list', '--label', 'team=payments') as { deployments: { name: string }[] };
    await expect(page.locator('table.grid tbody th[scope="row"] > a').allTextContents()).resolves.toEqual(listed.deployments.map((d) => d.name));
  });

  it('the promotion graph says what each target runs and that staging is behind dev', async () => {
    const g = json('promotion-graph', 'payment-service', '--show-status') as { targets: { name: string; status: { release: string | null } }[] };
    await go('/d/payment-service');
    const svg = page.locator('svg.promotion');
    await expect(svg.getAttribute('role')).resolves.toBe('img');
    for (const t of g.targets) {
      const node = svg.locator(`g[data-target="${t.name}"]`);
      const text = await node.textContent();
      if (t.status.release) expect(text).toContain(t.status.release);
    }
    expect(await svg.locator('g[data-target="staging"]').textContent()).toContain('behind dev');
    expect(await svg.locator('g[data-target="prod"]').textContent()).toContain('never deployed');
    expect(await page.locator('ul.next').textContent()).toContain('atmos-pipe rollout payment-service --target staging --promote-from dev');
    await shot('promotion');
  });

  it('the history lists what history lists, filters by component, and links to the release', async () => {
    const hist = json('history', 'payment-service') as { tag: string; release: string }[];
    await go('/d/payment-service/history');
    await expect(page.locator('table.history tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-tag')))).resolves.toEqual(hist.map((e) => e.tag));
    await page.selectOption('#component', 'ecr/api');
    await page.click('form.filters button');
    await page.waitForURL(/component=ecr%2Fapi/);
    const only = json('history', 'payment-service', '--component', 'ecr/api') as { tag: string }[];
    await expect(page.locator('table.history tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-tag')))).resolves.toEqual(only.map((e) => e.tag));
    await shot('history');
    await page.click(`table.history a:text("${hist[0].release}")`);
    await page.waitForURL(/\/releases\//);
    const rel = (json('releases', 'payment-service') as { id: string; images: Record<string, { digest: string }>; sboms: Record<string, string> }[]).find((r) => r.id === hist[0].release)!;
    const body = await page.locator('main').textContent();
    expect(body).toContain(rel.images.api.digest);
    expect(body).toContain(rel.sboms.deployment);
    expect(body).toMatch(/CycloneDX 1\.6, sha256:[0-9a-f]{64}: \d+ components?/);
    await shot('release');
  });

  it('the run timeline draws the last runs by wave, with cache hits and durations', async () => {
    const files = readdirSync(path.join(repo, '.atmos/runs')).filter((f) => f.endsWith('.json'));
    const newest = files.sort().at(-1)!;
    const record = JSON.parse(readFileSync(path.join(repo, '.atmos/runs', newest), 'utf8')) as { runId: string; events: { type: string; id?: string }[] };
    await go('/runs');
    const section = page.locator(`section[data-run="${record.runId}"]`);
    const steps = record.events.filter((e) => e.type === 'step.finished').map((e) => e.id);
    await expect(section.locator('tr[data-step]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-step')).sort())).resolves.toEqual([...steps].sort());
    await expect(section.locator('tr.wave th').allTextContents()).resolves.toEqual(['Wave 0', 'Wave 1']);
    expect(await section.locator('svg.bar').count()).toBe(steps.length);
    await shot('runs');
  });

  it('the diff shows what diff shows', async () => {
    const d = json('diff', 'payment-service', '--from-target', 'dev', '--to-target', 'staging') as { components: { component: string; changed: boolean }[] };
    await go('/d/payment-service/diff?from=dev&to=staging');
    await expect(page.locator('tr[data-component]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-component')))).resolves.toEqual(d.components.map((c) => c.component));
    expect(await page.locator('dd[data-side="to"]').textContent()).toContain('never deployed');
    await shot('diff');
  });

  it('the grid follows a rollout made by another process, without reloading', async () => {
    await go('/');
    const before = await page.evaluate(() => document.body.dataset.generation);
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
    });
    rollout('--target', 'staging', '--promote-from', 'dev');
    const staging = (json('status', 'payment-service', '--target', 'staging') as { release: string }[])[0];
    await page.waitForFunction(() => document.querySelector('td[data-deployment="payment-service"][data-target="staging"]')?.getAttribute('data-status') === 'success', undefined, { timeout: 20_000 });
    const cell = page.locator('td[data-deployment="payment-service"][data-target="staging"]');
    await expect(cell.getAttribute('data-release')).resolves.toBe(staging.release);
    expect(await page.evaluate(() => document.body.dataset.generation)).not.toBe(before);
    // The same document (swapped in place, not reloaded), and the update announced.
    await expect(page.evaluate(() => (window as unknown as { marker: number }).marker)).resolves.toBe(42);
    await expect(page.locator('#live').textContent()).resolves.toMatch(/^Updated at /);
    await shot('grid-live');
    // The README's picture (docs/dashboard.png is a copy of it).
    await page.screenshot({ path: path.join(SHOTS, 'dashboard.png'), clip: { x: 0, y: 0, width: 1280, height: 560 } });
    // prod waits for an approval; once recorded (a Git note, by another process) it waits for the rollout.
    const prod = page.locator('td[data-deployment="payment-service"][data-target="prod"]');
    expect(await prod.textContent()).toContain('approval missing');
    const a = runCli(['--chdir', repo, 'approve', 'payment-service', '--target', 'prod', '--approver', 'reviewer@example.com'], { env: GIT_ENV });
    expect(a.code, a.stderr).toBe(0);
    await page.waitForFunction(() => document.querySelector('td[data-deployment="payment-service"][data-target="prod"]')?.textContent?.includes('promotion pending'), undefined, { timeout: 20_000 });
    const edge = (json('promotion-status', 'payment-service') as { edges: { to: string; state: string }[] }).edges.find((e) => e.to === 'prod')!;
    expect(edge.state).toBe('pending');
    expect(await prod.textContent()).not.toContain('approval missing');
  });

  it('is usable on a narrow screen', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    for (const p of ['/', '/d/payment-service/history', '/runs', '/d/payment-service']) {
      await go(p);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, p).toBeLessThanOrEqual(0);
    }
    await go('/');
    await shot('grid-narrow');
  });

  it('logged no error in any page', () => {
    expect(problems).toEqual([]);
  });
});
