/**
 * Names that become Git refs (`refs/atmos/deployments/<d>/<t>/<component>` and the history tag
 * `atmos/deployments/<d>/<t>/<component>/<timestamp>`) are checked at `validate` and by every
 * command that loads the deployment: Git's own rules (each bad name is first shown to be
 * rejected by the real `git check-ref-format`), a length bound, and prefix collisions
 * (`vpc` beside `vpc/sub`). Exit 2, located at the component's key, nothing written.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, freshExample } from './fixture.js';
import { expectRefused, where } from './refused.js';

const N = 'platform-network';
const FILE = `deployments/${N}.yaml`;

/** The example's platform-network deployment with extra Terraform components (keys written as quoted YAML). */
function withComponents(...names: string[]): string {
  return freshExample((d) => {
    const abs = path.join(d, FILE);
    const extra = names.map((n) => `      ${JSON.stringify(n)}:\n        metadata:\n          component: network\n`).join('');
    writeFileSync(abs, readFileSync(abs, 'utf8').replace('  components:\n    terraform:\n', `  components:\n    terraform:\n${extra}`));
  });
}

const key = (dir: string, name: string) => where(dir, FILE, `${JSON.stringify(name)}:`);

/** What the real Git says of the ref a component would get. */
function gitAccepts(name: string): boolean {
  return spawnSync('git', ['check-ref-format', `refs/atmos/deployments/${N}/dev/${name}`]).status === 0;
}

describe('component names are valid, non-colliding Git refs', () => {
  it('"vpc" beside "vpc/sub" is refused: the refs .../vpc and .../vpc/sub cannot both exist; both names and both locations are reported', () => {
    const dir = withComponents('vpc/sub');
    const vpc = where(dir, FILE, '      vpc:', 'vpc');
    expectRefused(dir, N, key(dir, 'vpc/sub'), new RegExp(`terraform component "vpc/sub" collides with terraform component "vpc" \\(${vpc}\\)`));
  });

  it('a collision deeper down ("net/a" beside "net/a/b/c") is refused too', () => {
    const dir = withComponents('net/a', 'net/a/b/c');
    expectRefused(dir, N, key(dir, 'net/a/b/c'), /terraform component "net\/a\/b\/c" collides with terraform component "net\/a"/);
  });

  it('"vpc." (a ref ending in ".") is refused', () => {
    const dir = withComponents('vpc.');
    expect(gitAccepts('vpc.')).toBe(false);
    expectRefused(dir, N, key(dir, 'vpc.'), /component name "vpc\." segment "vpc\." must not end in "\."/);
  });

  it('a segment ending in ".lock" ("db.lock/main") is refused', () => {
    const dir = withComponents('db.lock/main');
    expect(gitAccepts('db.lock/main')).toBe(false);
    expectRefused(dir, N, key(dir, 'db.lock/main'), /segment "db\.lock" must not end in "\.lock"/);
  });

  it('a 250-character name is refused (a file name in .git/refs and .atmos/state; ext4 allows 255 bytes)', () => {
    const long = 'a'.repeat(250);
    const dir = withComponents(long);
    expectRefused(dir, N, key(dir, long), /is 250 bytes long; at most 100/);
  });

  it('a name whose history tag would exceed 255 bytes (three 90-byte segments) is refused, naming the length', () => {
    const long = ['b', 'c', 'd'].map((c) => c.repeat(90)).join('/');
    const dir = withComponents(long);
    expectRefused(dir, N, key(dir, long), /makes the history tag of target "(dev|staging|prod)" \d+ bytes long .*at most 255/);
  });

  const rejectedByGit = ['a/.hidden', 'a//b', 'a/', '/a', 'a b', 'a~1', 'a^2', 'a:b', 'a?', 'a*', 'a[b', 'a\\b', 'a@{1}', 'a..b', 'a\tb', 'a\u0001b'];
  it.each(rejectedByGit)('%j, which git check-ref-format rejects, is refused at validate and by rollout', (name) => {
    expect(gitAccepts(name)).toBe(false);
    const dir = withComponents(name);
    expectRefused(dir, N, key(dir, name), /component name ".*" /);
  });

  it('names Git accepts and that collide with nothing validate (the checks are not overbroad)', () => {
    const names = ['ecs/service-api', 'a_b.c-d/e2', 'vpc-sub', 'x'.repeat(100)];
    for (const n of names) expect(gitAccepts(n)).toBe(true);
    const dir = withComponents(...names);
    const r = cli(dir, ['validate', N]);
    expect(r.code, r.stderr).toBe(0);
  });
});
