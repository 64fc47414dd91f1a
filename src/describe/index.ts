/**
 * `describe` (SPEC 11): the exact JSON shape other tools rely on, plus provenance (the
 * file:line:col every resolved value came from).
 */
import { formatLocation } from '../diagnostics/index.js';
import type { ResolvedComponent, ResolvedDeployment } from '../resolve/index.js';
import { isPlainMap, locOf } from '../yaml/index.js';

/** One component in the exact shape of SPEC 11 (plus provenance with `--provenance`). */
export type DescribedComponent = Pick<ResolvedComponent, 'address' | 'type' | 'name' | 'component' | 'vars' | 'settings' | 'env' | 'backend_type' | 'backend' | 'providers' | 'depends_on' | 'wave'> & {
  /** Terraform: the workspace its steps select (Atmos's derivation: src/resolve/workspace.ts). */
  workspace?: string;
  /** Terraform: the command its steps run (`terraform`, `tofu`). */
  command?: string;
  /** Atmos dependencies naming no component of this deployment (another stack, another component): shown, not ordered. */
  dependencies?: ResolvedComponent['externalDependencies'];
  /** Names of the secrets its steps receive (never values); absent when none. */
  secrets?: string[];
  /**
   * Its step hooks in the order they run around their stage (the deployment's, the target's,
   * then its own): the hook key, the module, `with:` as written (templates not evaluated);
   * absent when none.
   */
  hooks?: DescribedHook[];
  /** Only with `--provenance`: dotted path -> `file:line:col`. */
  provenance?: Record<string, string>;
};

/** A step hook of a component, as `describe` shows it. */
export interface DescribedHook {
  /** `after_apply` */
  key: string;
  uses: string;
  name?: string;
  /** Where it is declared: `deployment`, `target` or `component`. */
  level: 'deployment' | 'target' | 'component';
  with: Record<string, unknown>;
}

export interface Description {
  deployment: string;
  target: string;
  stacks: string[];
  components: DescribedComponent[];
}

/** Plain JSON data (no hidden position tables, no shared references). */
function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v ?? null)) as T;
}

/** `vars.cluster_name` -> `stacks/catalog/ecs.yaml:5:7`, for every leaf value. */
export function provenanceOf(sections: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (v: unknown, p: string, where: string | undefined) => {
    if (isPlainMap(v) && Object.keys(v).length > 0) {
      for (const [k, x] of Object.entries(v)) {
        const l = locOf(v, k);
        visit(x, p ? `${p}.${k}` : k, l ? formatLocation(l) : where);
      }
    } else if (Array.isArray(v) && v.length > 0 && v.some((x) => isPlainMap(x) || Array.isArray(x))) {
      v.forEach((x, i) => {
        const l = locOf(v, i);
        visit(x, `${p}[${i}]`, l ? formatLocation(l) : where);
      });
    } else {
      out[p] = where ?? '(default)';
    }
  };
  for (const [name, section] of Object.entries(sections)) {
    if (isPlainMap(section)) {
      for (const [k, x] of Object.entries(section)) {
        const l = locOf(section, k);
        visit(x, `${name}.${k}`, l ? formatLocation(l) : undefined);
      }
    }
  }
  return out;
}

export function describe(resolved: ResolvedDeployment, opts: { provenance?: boolean } = {}): Description {
  return {
    deployment: resolved.deployment,
    target: resolved.target,
    stacks: [...resolved.stacks],
    components: resolved.components.map((c) => {
      const d: DescribedComponent = {
        address: c.address,
        type: c.type,
        name: c.name,
        component: c.component,
        vars: plain(c.vars),
        settings: plain(c.settings),
        env: plain(c.env),
        backend_type: c.backend_type,
        backend: plain(c.backend),
        providers: plain(c.providers),
        depends_on: [...c.depends_on],
        wave: c.wave,
      };
      if (c.workspace !== undefined) d.workspace = c.workspace;
      if (c.command !== undefined) d.command = c.command;
      if (c.externalDependencies?.length) d.dependencies = plain(c.externalDependencies);
      if (c.credentials.secrets.length) d.secrets = c.credentials.secrets.map((x) => x.name).sort();
      if (c.hooks?.length) d.hooks = c.hooks.map((h) => ({ key: h.key, uses: h.uses, ...(h.name !== undefined ? { name: h.name } : {}), level: h.level, with: plain(h.with) }));
      if (opts.provenance) d.provenance = provenanceOf({ vars: c.vars, settings: c.settings, env: c.env });
      return d;
    }),
  };
}
