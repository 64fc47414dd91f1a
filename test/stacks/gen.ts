import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A synthetic Atmos repository: `nStacks` top-level stacks, each importing two mixins and
 * `perStack` catalog files (one component each, inheriting an abstract base), so
 * nStacks × perStack component instances.
 */
export function generateRepo(root: string, nStacks = 1000, perStack = 10, nCatalog = 50): void {
  const w = (rel: string, text: string) => {
    const abs = path.join(root, 'stacks', rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  };
  for (let i = 0; i < nCatalog; i++) {
    const vars = Array.from({ length: 10 }, (_, k) => `        v${k}: value-${i}-${k}`).join('\n');
    w(
      `catalog/c${i}.yaml`,
      `components:
  terraform:
    c${i}/defaults:
      metadata:
        type: abstract
        component: mod${i % 7}
      vars:
${vars.replace(/^ {8}/gm, '        ')}
        tags: [a, b, c]
    c${i}:
      metadata:
        component: mod${i % 7}
        inherits: [c${i}/defaults]
      vars:
        name: c${i}
        nested: { a: 1, b: { c: 2 } }
`,
    );
  }
  for (let r = 0; r < 4; r++) w(`mixins/region/r${r}.yaml`, `vars:\n  region: region-${r}\n  environment: e${r}\n`);
  for (let s = 0; s < 5; s++) {
    w(`mixins/stage/s${s}.yaml`, `vars:\n  stage: s${s}\nterraform:\n  backend_type: s3\n  backend:\n    s3:\n      bucket: tfstate-s${s}\n      region: us-east-1\n`);
  }
  for (let j = 0; j < nStacks; j++) {
    const cat = Array.from({ length: perStack }, (_, k) => `  - catalog/c${(j + k * 3) % nCatalog}`).join('\n');
    const extra = j % 10 === 0 ? `terraform:\n  overrides:\n    vars:\n      overridden: true\n` : '';
    w(
      `orgs/o${j % 10}/stack${j}.yaml`,
      `import:\n  - mixins/region/r${j % 4}\n  - mixins/stage/s${j % 5}\n${cat}\nvars:\n  tenant: t${j % 10}\n  stack_id: ${j}\n${extra}components:\n  terraform:\n    c${j % nCatalog}:\n      vars:\n        own: ${j}\n`,
    );
  }
}
