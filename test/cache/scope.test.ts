/**
 * Which namespaces of the shared cache a run reads and writes (src/cache/remote/scope.ts), from
 * the CI's variables: a pull request never writes a trusted namespace, whatever its branch is
 * called; a branch reads its own namespace and the trusted ones only.
 */
import { describe, expect, it } from 'vitest';
import { namespaceId } from '../../src/cache/remote/backend.js';
import { cacheScope } from '../../src/cache/remote/scope.js';
import { git, makeRepo } from '../helpers.js';

const notGit = makeRepo({});

describe('the scope of a run in the shared cache', () => {
  it('a push to the default branch reads and writes its own, trusted namespace', () => {
    const s = cacheScope({ GITHUB_ACTIONS: 'true', GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/main' }, notGit);
    expect(s).toMatchObject({ namespace: 'main', read: ['main'], write: true, untrusted: false });
  });

  it("a feature branch writes its own namespace and reads the default branch's, never another branch's", () => {
    const s = cacheScope({ GITLAB_CI: 'true', CI_COMMIT_REF_NAME: 'feature/x', CI_DEFAULT_BRANCH: 'trunk' }, notGit);
    expect(s).toMatchObject({ namespace: 'feature/x', read: ['feature/x', 'trunk'], write: true });
  });

  it('a pull request from a fork whose branch is called main is pr/<n>, and never writes a trusted namespace', () => {
    const s = cacheScope({ GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/42/merge', GITHUB_HEAD_REF: 'main' }, notGit, ['main']);
    expect(s).toMatchObject({ namespace: 'pr/42', read: ['pr/42', 'main'], untrusted: true, write: true });
    // Even when trusted_refs would match its namespace.
    expect(cacheScope({ GITHUB_EVENT_NAME: 'pull_request_target', GITHUB_REF: 'refs/pull/42/merge' }, notGit, ['main', 'pr/*'])).toMatchObject({ write: false, untrusted: true });
    expect(cacheScope({ CI_MERGE_REQUEST_IID: '7', CI_COMMIT_REF_NAME: 'main' }, notGit)).toMatchObject({ namespace: 'mr/7', untrusted: true });
    expect(cacheScope({ BUILDKITE_PULL_REQUEST: '9', BUILDKITE_BRANCH: 'main' }, notGit)).toMatchObject({ namespace: 'pr/9', untrusted: true });
  });

  it('trusted refs may be globs (matched against the run itself) and names (read by others)', () => {
    const s = cacheScope({ CI_COMMIT_REF_NAME: 'release/1.2' }, notGit, ['main', 'release/*']);
    expect(s).toMatchObject({ namespace: 'release/1.2', read: ['release/1.2', 'main'], write: true });
  });

  it('outside CI: the checked-out branch; a detached HEAD writes nothing', () => {
    const repo = makeRepo({ f: 'x' });
    git(repo, 'init', '-q', '-b', 'topic');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'x');
    expect(cacheScope({}, repo)).toMatchObject({ namespace: 'topic', read: ['topic', 'main'], write: true });
    git(repo, 'checkout', '-q', '--detach');
    expect(cacheScope({}, repo)).toMatchObject({ read: ['main'], write: false });
    expect(cacheScope({}, repo).namespace).toBeUndefined();
  });

  it('namespaces that read alike get different ids, fit for a tag', () => {
    expect(namespaceId('feature/x')).not.toBe(namespaceId('feature_x'));
    for (const ns of ['main', 'feature/x', '-odd', `${'long'.repeat(30)}`]) expect(namespaceId(ns)).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,57}$/);
  });
});
