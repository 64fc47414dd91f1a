/**
 * The values templates evaluate against (SPEC 3 "Templates"): Git facts, the deployment and
 * target names, the target's context, and each nixpack component's image facts — the built
 * image when one is known, else an explicit `@sha256:<unbuilt>` placeholder. Image tags may
 * themselves be templates (`{{ git.sha }}`) and are evaluated once here; an image without a
 * tag gets the short commit SHA.
 */
import type { DiagnosticBag } from '../diagnostics/index.js';
import type { DeploymentConfig } from '../config/deployment.js';
import { locOf } from '../yaml/index.js';
import type { GitInfo } from './git.js';
import { derivedImageTag } from './nixpack.js';
import type { ComponentNames } from './references.js';
import { evaluate, type TemplateScope } from './templates.js';
import type { ResolveOptions } from './types.js';

function unbuiltRef(image: { registry?: string; name: string }): string {
  return image.registry ? `${image.registry}/${image.name}@sha256:<unbuilt>` : `${image.name}@sha256:<unbuilt>`;
}

/** The scope of a deployment's templates for one target. */
export function templateScope(dep: DeploymentConfig, target: string, git: GitInfo, opts: ResolveOptions, names: ComponentNames, bag: DiagnosticBag): TemplateScope {
  const nxComps = dep.body.components?.nixpack ?? {};
  const scope: TemplateScope = {
    git,
    deployment: { name: dep.name },
    target: { name: target, context: (dep.body.targets[target].context ?? {}) as Record<string, unknown> },
    nixpack: {},
    ...(opts.terraformOutputs ? { terraformOutputs: opts.terraformOutputs } : {}),
    ...(opts.declaredOutputs ? { declaredOutputs: opts.declaredOutputs } : {}),
  };
  for (const [n, c] of Object.entries(nxComps)) {
    const built = opts.images?.[n];
    const repository = c.vars.image.registry ? `${c.vars.image.registry}/${c.vars.image.name}` : c.vars.image.name;
    scope.nixpack[n] = {
      image: built?.ref ?? unbuiltRef(c.vars.image),
      digest: built?.digest ?? 'sha256:<unbuilt>',
      repository,
      tag: '',
    };
  }
  for (const [n, c] of Object.entries(nxComps)) {
    const tag = c.vars.image.tag;
    const loc = locOf(c.vars.image, 'tag') ?? dep.location;
    scope.nixpack[n].tag = tag === undefined ? derivedImageTag(git) : String(evaluate(String(tag), scope, names, bag, loc));
  }
  return scope;
}
