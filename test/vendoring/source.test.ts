/**
 * Source strings (SPEC 7): go-getter style Git, GitHub shorthand, https tarballs, local
 * paths; `{{ version }}` / `{{ .Version }}` templates and the version filling `?ref=`.
 */
import { describe, expect, it } from 'vitest';
import { SourceError, parseSource, renderSource } from '../../src/vendoring/index.js';

describe('vendor sources', () => {
  it('parses git:: URLs with a //subdir and ?ref=', () => {
    expect(parseSource('git::file:///srv/git/vpc.git//modules/vpc?ref=v1.0.0', '/repo')).toEqual({ kind: 'git', url: 'file:///srv/git/vpc.git', subdir: 'modules/vpc', ref: 'v1.0.0' });
    expect(parseSource('git::https://example.com/org/vpc.git?ref=main', '/repo')).toEqual({ kind: 'git', url: 'https://example.com/org/vpc.git', subdir: '', ref: 'main' });
    expect(parseSource('git::git@github.com:org/vpc.git//m?ref=v1', '/repo')).toEqual({ kind: 'git', url: 'git@github.com:org/vpc.git', subdir: 'm', ref: 'v1' });
    expect(parseSource('git::../repos/vpc.git//m', '/repo/vendor')).toEqual({ kind: 'git', url: '/repo/repos/vpc.git', subdir: 'm' });
  });

  it('expands github.com/<org>/<repo>//<subdir>?ref= to Git over https', () => {
    expect(parseSource('github.com/cloudposse/terraform-aws-components//modules/vpc?ref=1.398.0', '/repo')).toEqual({
      kind: 'git',
      url: 'https://github.com/cloudposse/terraform-aws-components.git',
      subdir: 'modules/vpc',
      ref: '1.398.0',
    });
    expect(parseSource('github.com/org/repo.git?ref=v2', '/repo')).toMatchObject({ url: 'https://github.com/org/repo.git', subdir: '', ref: 'v2' });
  });

  it('accepts https tarballs, and http only for loopback hosts', () => {
    expect(parseSource('https://example.com/dl/vpc-1.0.0.tar.gz//vpc', '/repo')).toEqual({ kind: 'http', url: 'https://example.com/dl/vpc-1.0.0.tar.gz', subdir: 'vpc' });
    expect(parseSource('http://127.0.0.1:8080/x.tgz', '/repo')).toEqual({ kind: 'http', url: 'http://127.0.0.1:8080/x.tgz', subdir: '' });
    expect(() => parseSource('http://example.com/x.tar.gz', '/repo')).toThrow(/only allowed for loopback/);
    expect(() => parseSource('https://example.com/x.zip', '/repo')).toThrow(SourceError);
    expect(() => parseSource('s3::https://bucket/x.tar.gz', '/repo')).toThrow(/s3:: getter is not supported/);
    expect(() => parseSource('oci://public.ecr.aws/x:1', '/repo')).toThrow(/oci:\/\/ scheme is not supported/);
  });

  it('resolves local paths against the declaring file; rejects .. in subdirectories and bad refs', () => {
    expect(parseSource('./modules/vpc', '/repo')).toEqual({ kind: 'local', path: '/repo/modules/vpc' });
    expect(parseSource('file:///abs/vpc', '/repo')).toEqual({ kind: 'local', path: '/abs/vpc' });
    expect(() => parseSource('git::file:///r.git//../../etc?ref=v1', '/repo')).toThrow(/must not contain/);
    expect(() => parseSource('git::file:///r.git?ref=--upload-pack=x', '/repo')).toThrow(/not a valid Git ref/);
  });

  it('fills {{ version }} / {{ .Version }} and adds ?ref= from the version when the source has none', () => {
    expect(renderSource('git::file:///r.git//modules/vpc?ref={{ .Version }}', 'v1.0.0', 'vpc')).toBe('git::file:///r.git//modules/vpc?ref=v1.0.0');
    expect(renderSource('git::file:///r.git//modules/vpc?ref={{.Version}}', 'v1.0.0', 'vpc')).toBe('git::file:///r.git//modules/vpc?ref=v1.0.0');
    expect(renderSource('git::file:///r.git//modules/{{ component }}', 'v1.1.0', 'vpc')).toBe('git::file:///r.git//modules/vpc?ref=v1.1.0');
    expect(renderSource('github.com/org/repo//m?depth=1', '2.0', 'x')).toBe('github.com/org/repo//m?depth=1&ref=2.0');
    expect(renderSource('git::file:///r.git?ref=main', 'v9', 'x')).toBe('git::file:///r.git?ref=main');
    expect(renderSource('https://h/x-{{ version }}.tar.gz', '3.1', 'x')).toBe('https://h/x-3.1.tar.gz');
    expect(renderSource('./local', '3.1', 'x')).toBe('./local');
    expect(() => renderSource('https://h/x-{{ version }}.tar.gz', undefined, 'x')).toThrow(/has no version/);
    expect(() => renderSource('https://h/{{ .Stage }}.tar.gz', '1', 'x')).toThrow(/unknown template/);
  });
});
