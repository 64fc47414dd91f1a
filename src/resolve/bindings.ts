/**
 * Image bindings (SPEC 3 "Bindings"): how a Terraform component receives a nixpack image.
 *
 *  - template: its configuration names `{{ nixpack.<c>.image }}` (or another field);
 *  - label: else, the one nixpack component whose labels all match its labels binds its
 *    image into `settings.binding.var` (default `image`);
 *  - name: else, `vars.container.name` naming a nixpack component binds `container.image`.
 *
 * A label or name binding is recorded as a deferred value: the image is bound again when
 * the component is expanded after a build.
 */
import type { DiagnosticBag } from '../diagnostics/index.js';
import type { NixpackComponentConfig } from '../config/deployment.js';
import { ensureLocs, isPlainMap, locOf, locsOf } from '../yaml/index.js';
import type { ComponentNames } from './references.js';
import type { StackedComponent } from './stack-config.js';
import type { FoundRef, TemplateScope } from './templates.js';
import type { DeferredValue, ResolvedComponent } from './types.js';
import { setWithLoc } from './vars.js';

/** A nixpack component's labels (what a label binding matches). */
export interface NixpackLabels {
  name: string;
  labels: Record<string, string>;
}

function setLocsFrom(dst: object, src: object): void {
  const l = locsOf(src);
  if (!l) return;
  const d = ensureLocs(dst, l.self);
  for (const [k, v] of l.keys) d.keys.set(k, v);
  for (const [k, v] of l.values) d.values.set(k, v);
}

/** A shallow copy with the source's positions. */
function copyOf(src: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  setLocsFrom(copy, src);
  Object.assign(copy, src);
  return copy;
}

/** The vars of a Terraform component with its image bound, the bindings and where the bound images sit. */
export function bindImages(
  t: StackedComponent,
  vars: Record<string, unknown>,
  settings: Record<string, unknown>,
  refs: FoundRef[],
  nxLabels: NixpackLabels[],
  nxComps: Record<string, NixpackComponentConfig>,
  scope: TemplateScope,
  names: ComponentNames,
  bag: DiagnosticBag,
): { vars: Record<string, unknown>; bindings: ResolvedComponent['bindings']; deferred: DeferredValue[] } {
  const bindings: ResolvedComponent['bindings'] = [];
  const deferred: DeferredValue[] = [];
  const explicit = refs.filter((r) => r.ref.kind === 'nixpack');
  for (const r of explicit) {
    if (r.ref.kind === 'nixpack' && !bindings.some((b) => b.nixpack === (r.ref as { component: string }).component)) {
      bindings.push({ var: '(template)', nixpack: r.ref.component, kind: 'template' });
    }
  }
  if (explicit.length > 0) return { vars, bindings, deferred };
  const labels = (t.metadata.labels ?? {}) as Record<string, string>;
  const matches = nxLabels.filter((x) => Object.keys(x.labels).length > 0 && Object.entries(x.labels).every(([k, v]) => labels[k] === v));
  const bindingSettings = isPlainMap(settings.binding) ? settings.binding : {};
  const varName = typeof bindingSettings.var === 'string' ? bindingSettings.var : 'image';
  if (matches.length > 1) {
    bag.error(
      'deployment/ambiguous-binding',
      `terraform component "${t.name}" matches the labels of several nixpack components: ${matches.map((m) => m.name).join(', ')}`,
      t.location,
      'bind one explicitly, e.g. vars: { image: "{{ nixpack.<name>.image }}" }',
    );
  } else if (matches.length === 1) {
    const nx = matches[0].name;
    const copy = copyOf(vars);
    setWithLoc(copy, varName, scope.nixpack[nx].image, locOf(nxComps[nx].vars, 'image') ?? locOf(nxComps, nx));
    vars = copy;
    bindings.push({ var: varName, nixpack: nx, kind: 'label' });
    deferred.push({ section: 'vars', path: [varName], source: { binding: nx } });
  } else {
    const container = isPlainMap(vars.container) ? vars.container : undefined;
    const cname = container && typeof container.name === 'string' ? container.name : undefined;
    if (cname && names.nixpack.has(cname)) {
      const newContainer = copyOf(container!);
      setWithLoc(newContainer, 'image', scope.nixpack[cname].image, locOf(nxComps[cname].vars, 'image'));
      const copy = copyOf(vars);
      copy.container = newContainer;
      vars = copy;
      bindings.push({ var: 'container.image', nixpack: cname, kind: 'name' });
      deferred.push({ section: 'vars', path: ['container', 'image'], source: { binding: cname } });
    }
  }
  return { vars, bindings, deferred };
}
