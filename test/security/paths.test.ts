/**
 * Everything stays inside the repository: each attack points a configured path (stack lists,
 * imports, globs, module directories, nixpack sources, local backend state, atmos.yaml paths,
 * vendor sources) or a symlink out of the repository, at a REAL file or directory prepared
 * there, and must be refused: exit 2, located at the offending value, nothing written.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, commitAll, freshExample } from './fixture.js';
import { expectRefused, finishedStep, where } from './refused.js';

const D = 'payment-service';
const N = 'platform-network';
const DEP = `deployments/${D}.yaml`;

function edit(dir: string, file: string, from: string | RegExp, to: string): void {
  const abs = path.join(dir, file);
  const text = readFileSync(abs, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`${String(from)} not found in ${file}`);
  writeFileSync(abs, next);
}

/** A stack file, a module and a service prepared OUTSIDE the repository (beside it), so an escape would really read them. */
function outside(dir: string): string {
  const out = path.dirname(dir);
  writeFileSync(path.join(out, 'outside.yaml'), 'vars:\n  stolen: true\n');
  mkdirSync(path.join(out, 'outdir'), { recursive: true });
  writeFileSync(path.join(out, 'outdir', 'a.yaml'), 'vars:\n  stolen: true\n');
  mkdirSync(path.join(out, 'x'), { recursive: true });
  writeFileSync(path.join(out, 'x', 'main.tf'), 'variable "name" {}\noutput "pwned" { value = "yes" }\n');
  mkdirSync(path.join(out, 'src'), { recursive: true });
  writeFileSync(path.join(out, 'src', 'package.json'), '{"name":"outside","version":"1.0.0"}\n');
  writeFileSync(path.join(out, 'outside.tf'), 'output "pwned" { value = "yes" }\n');
  return out;
}

/** A fresh example with `edit` applied and committed. */
function attacked(change: (dir: string, out: string) => void): string {
  return freshExample((d) => change(d, outside(d)));
}

describe('paths stay inside the repository', () => {
  it('a deployment.stacks entry "../../outside" (a real stack file beside the repository) is refused, located at the entry', () => {
    const dir = attacked((d) => edit(d, DEP, '    - teams/payments', '    - ../../outside'));
    expectRefused(dir, D, where(dir, DEP, '../../outside'), /stack "\.\.\/\.\.\/outside" leaves the repository/);
  });

  it('an absolute targets.dev.stacks entry is refused, located at the entry', () => {
    const dir = attacked((d, out) => edit(d, DEP, '        - orgs/acme/dev', `        - ${path.join(out, 'outside.yaml')}`));
    expectRefused(dir, D, where(dir, DEP, path.join(path.dirname(dir), 'outside.yaml')), /stack ".*outside\.yaml" leaves the repository/);
  });

  it('a stack import "../../../../outside" from stacks/orgs/acme/dev.yaml is refused, located in the importing file', () => {
    const dir = attacked((d) => edit(d, 'stacks/orgs/acme/dev.yaml', 'import:\n', 'import:\n  - ../../../../outside\n'));
    expectRefused(dir, D, where(dir, 'stacks/orgs/acme/dev.yaml', '../../../../outside'), /stack import "\.\.\/\.\.\/\.\.\/\.\.\/outside" leaves the repository/);
  });

  it('a symlinked stack file (stacks/catalog/evil.yaml → a file outside) is refused where it is imported', () => {
    const dir = attacked((d, out) => {
      symlinkSync(path.join(out, 'outside.yaml'), path.join(d, 'stacks/catalog/evil.yaml'));
      edit(d, 'stacks/orgs/acme/dev.yaml', 'import:\n', 'import:\n  - catalog/evil\n');
    });
    expectRefused(dir, D, where(dir, 'stacks/orgs/acme/dev.yaml', 'catalog/evil'), /through a symlink: its real path is .*outside\.yaml/);
  });

  it('a glob import through a symlinked directory that leaves the repository is refused', () => {
    const dir = attacked((d, out) => {
      symlinkSync(path.join(out, 'outdir'), path.join(d, 'stacks/catalog/linked'));
      edit(d, 'stacks/orgs/acme/dev.yaml', 'import:\n', 'import:\n  - "catalog/linked/*"\n');
    });
    expectRefused(dir, D, where(dir, 'stacks/orgs/acme/dev.yaml', '"catalog/linked/*"'), /leaves the repository.*outdir/);
  });

  it('metadata.component "../../../x" (a real module beside the repository) is refused and nothing is applied', () => {
    const dir = attacked((d) => edit(d, DEP, 'component: ecr\n', 'component: ../../../x\n'));
    expectRefused(dir, D, where(dir, DEP, '../../../x'), /module directory "\.\.\/\.\.\/\.\.\/x" leaves the repository/);
  });

  it('a module file symlinked out of the repository (components/terraform/network/evil.tf) is refused before anything runs', () => {
    const dir = attacked((d, out) => symlinkSync(path.join(out, 'outside.tf'), path.join(d, 'components/terraform/network/evil.tf')));
    expectRefused(dir, N, where(dir, `deployments/${N}.yaml`, 'component: network', 'network'), /components\/terraform\/network\/evil\.tf is a symlink to .*outside\.tf.*leaves the repository/);
  });

  it('a nixpack source "../src" (a real service beside the repository) is refused, located at vars.source', () => {
    const dir = attacked((d) => edit(d, DEP, 'source: ./services/api', 'source: ../src'));
    expectRefused(dir, D, where(dir, DEP, '../src'), /nixpack component "api": source "\.\.\/src" leaves the repository/);
  });

  it('a nixpack source pointing into components/ is refused (a build must not read module directories)', () => {
    const dir = attacked((d) => edit(d, DEP, 'source: ./services/api', 'source: ./components/terraform/ecr'));
    expectRefused(dir, D, where(dir, DEP, './components/terraform/ecr'), /points into the Terraform modules/);
  });

  it('a file of the build context symlinked out of the repository (services/api/config.json → outside) is refused', () => {
    const dir = attacked((d, out) => symlinkSync(path.join(out, 'src', 'package.json'), path.join(d, 'services/api/config.json')));
    expectRefused(dir, D, where(dir, DEP, 'source: ./services/api', './services/api'), /services\/api\/config\.json is a symlink to .*leaves the repository/);
  });

  it('a symlink loop in the build context (services/api/loop → .) is refused before anything runs, not walked forever', () => {
    const dir = attacked((d) => symlinkSync('.', path.join(d, 'services/api/loop')));
    expectRefused(dir, D, where(dir, DEP, 'source: ./services/api', './services/api'), /services\/api\/loop is a symlink to \., a directory that holds it \(a symlink loop\)/);
  });

  it('mutual directory links in a module (a/to-b → ../b, b/to-a → ../a) are a symlink loop, refused at validate, never walked forever', () => {
    const dir = attacked((d) => {
      const m = path.join(d, 'components/terraform/network');
      mkdirSync(path.join(m, 'a'));
      mkdirSync(path.join(m, 'b'));
      symlinkSync('../b', path.join(m, 'a/to-b'));
      symlinkSync('../a', path.join(m, 'b/to-a'));
    });
    expectRefused(
      dir,
      N,
      where(dir, `deployments/${N}.yaml`, 'component: network', 'network'),
      /components\/terraform\/network\/.* is a symlink to \.\.\/[ab], a directory that holds it \(a symlink loop\)/,
    );
  });

  it('a dangling module symlink (components/terraform/network/gone.tf → a file that does not exist) is refused at validate', () => {
    const dir = attacked((d) => symlinkSync('missing.tf', path.join(d, 'components/terraform/network/gone.tf')));
    expectRefused(dir, N, where(dir, `deployments/${N}.yaml`, 'component: network', 'network'), /gone\.tf is a symlink to missing\.tf, which does not exist/);
  });

  it('a local backend path outside the repository (absolute) is refused, located in the stack that sets it', () => {
    const dir = attacked((d, out) => edit(d, 'stacks/orgs/acme/_defaults.yaml', '    local: {}', `    local: { path: ${path.join(out, 'x.tfstate')} }`));
    expectRefused(dir, D, where(dir, 'stacks/orgs/acme/_defaults.yaml', path.join(path.dirname(dir), 'x.tfstate')), /local backend path ".*x\.tfstate" leaves the repository/);
  });

  it('a local backend path "../x.tfstate" is refused', () => {
    const dir = attacked((d) => edit(d, 'stacks/orgs/acme/_defaults.yaml', '    local: {}', '    local: { path: ../x.tfstate }'));
    expectRefused(dir, N, where(dir, 'stacks/orgs/acme/_defaults.yaml', '../x.tfstate'), /local backend path "\.\.\/x\.tfstate" leaves the repository/);
  });

  it('a local backend workspace_dir inside components/ is refused (state never lands in a module)', () => {
    const dir = attacked((d) => edit(d, 'stacks/orgs/acme/_defaults.yaml', '    local: {}', '    local: { workspace_dir: components/terraform/network/states }'));
    expectRefused(dir, N, where(dir, 'stacks/orgs/acme/_defaults.yaml', 'components/terraform/network/states'), /local backend workspace_dir ".*" points into the Terraform modules/);
  });

  it('a local vendor source outside the repository is refused, located at the source', () => {
    const dir = attacked((d) => edit(d, `deployments/${N}.yaml`, '  stacks:\n', '  vendor:\n    components:\n      - component: network\n        source: ../x\n        version: "1"\n  stacks:\n'));
    const r = cli(dir, ['vendor', 'pull', '--deployment', N, '--target', 'dev']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${where(dir, `deployments/${N}.yaml`, '../x')}: error: vendor source for module "network" "../x" leaves the repository`);
    expectRefused(dir, N, where(dir, `deployments/${N}.yaml`, '../x'), /leaves the repository/);
  });

  it('a committed .atmos symlink leading out of the repository (the default cache_dir) is refused: no cache, state or image is written there', () => {
    const dir = attacked((d, out) => {
      edit(d, 'atmos.yaml', '  cache_dir: .atmos\n', '');
      symlinkSync(path.join(out, 'cache'), path.join(d, '.atmos'));
    });
    expectRefused(dir, D, 'atmos.yaml:1:1', /atmos\.yaml: deployments\.cache_dir \(default\) "\.atmos" leaves the repository: .*through a symlink/);
    expect(existsSync(path.join(path.dirname(dir), 'cache'))).toBe(false);
  });

  it('a local backend path through a dangling symlink (state-link → a directory outside that does not exist yet) is refused', () => {
    const dir = attacked((d, out) => {
      symlinkSync(path.join(out, 'not-yet'), path.join(d, 'state-link'));
      edit(d, 'stacks/orgs/acme/_defaults.yaml', '    local: {}', '    local: { path: state-link/x.tfstate }');
    });
    expectRefused(
      dir,
      N,
      where(dir, 'stacks/orgs/acme/_defaults.yaml', 'state-link/x.tfstate'),
      /local backend path "state-link\/x\.tfstate" leaves the repository: .*through a symlink: its real path is .*not-yet\/x\.tfstate/,
    );
    expect(existsSync(path.join(path.dirname(dir), 'not-yet'))).toBe(false);
  });

  const atmosPaths: [string, string | RegExp, (out: string) => string][] = [
    ['base_path', 'base_path: "."', () => 'base_path: "../"'],
    ['components.terraform.base_path', 'base_path: components/terraform', () => 'base_path: ../../components'],
    ['stacks.base_path', 'base_path: stacks', (out) => `base_path: ${out}`],
    ['deployments.base_path', 'base_path: deployments', () => 'base_path: ../deployments'],
    ['deployments.releases_path', 'releases_path: releases', () => 'releases_path: ../releases'],
    ['deployments.cache_dir', 'cache_dir: .atmos', (out) => `cache_dir: ${path.join(out, 'elsewhere')}`],
  ];
  it.each(atmosPaths)('atmos.yaml %s outside the repository is refused, located at the value', (key, from, to) => {
    const dir = attacked((d, out) => edit(d, 'atmos.yaml', from, to(out)));
    const value = to(path.dirname(dir)).split(': ')[1];
    expectRefused(dir, D, where(dir, 'atmos.yaml', value), new RegExp(`atmos\\.yaml: ${key.replace(/\./g, '\\.')} ".*" leaves the repository`));
  });

  it('atmos.yaml stacks.base_path naming a symlinked directory that leaves the repository is refused', () => {
    const dir = attacked((d, out) => {
      symlinkSync(path.join(out, 'outdir'), path.join(d, 'linked-stacks'));
      edit(d, 'atmos.yaml', 'base_path: stacks', 'base_path: linked-stacks');
    });
    expectRefused(dir, D, where(dir, 'atmos.yaml', 'linked-stacks'), /through a symlink: its real path is .*outdir/);
  });
});

describe('symlinks inside the repository are followed by content', () => {
  it('a module .tf symlinked to a file inside the repository: changing the file changes the module digest (the step re-runs)', () => {
    const dir = freshExample((d) => {
      mkdirSync(path.join(d, 'shared'));
      writeFileSync(path.join(d, 'shared/extra.tf'), 'output "extra" { value = "one" }\n');
      symlinkSync('../../../shared/extra.tf', path.join(d, 'components/terraform/network/extra.tf'));
    });
    const init = (out: string) => finishedStep(out, /^plan:terraform\/vpc:init$/);
    const first = cli(dir, ['run', 'plan', N, '--target', 'dev', '--events', 'ndjson']);
    expect(first.code, first.stderr).toBe(0);
    const a = init(first.stdout);
    expect(a?.fingerprint).toMatch(/^sha256:/);
    writeFileSync(path.join(dir, 'shared/extra.tf'), 'output "extra" { value = "two" }\n');
    commitAll(dir);
    const second = cli(dir, ['run', 'plan', N, '--target', 'dev', '--events', 'ndjson']);
    expect(second.code, second.stderr).toBe(0);
    const b = init(second.stdout);
    expect(b?.fingerprint).toMatch(/^sha256:/);
    expect(b!.fingerprint).not.toBe(a!.fingerprint);
    expect(b!.status).toBe('done');
  });
});
