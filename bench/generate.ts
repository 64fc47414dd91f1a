/**
 * Deterministic generator of a synthetic enterprise Atmos repository, used by the
 * benchmarks (`npm run bench`). Same options ⇒ byte-identical files, on any machine.
 *
 * Shape (defaults):
 *
 *   stacks/
 *     orgs/acme/_defaults.yaml                      org defaults, `terraform:` section, s3 backend
 *     orgs/acme/<tenant>/_defaults.yaml             5 tenants
 *     orgs/acme/<tenant>/<stage>/_defaults.yaml     20 accounts (tenant × stage)
 *     orgs/acme/<tenant>/<stage>/<region>.yaml      100 top-level stacks (account × region)
 *     mixins/region/<region>.yaml                   5 region mixins
 *     catalog/<module>/defaults.yaml                10 files, 2 abstract bases each
 *     catalog/<module>/<variant>.yaml               10 × 85 files, 10 components each
 *   components/terraform/<module>/{variables,main}.tf   10 modules
 *   deployments/checkout.yaml                       lists exactly 4 stack files
 *   services/checkout/                              a tiny node service (nixpack component)
 *
 * Import chains are 4 deep: top-level stack → account defaults → tenant defaults → org
 * defaults → catalog bases. Every top-level stack also imports its region mixin and one
 * catalog variant file per module, i.e. 10 modules × 10 components = 100 component
 * instances per stack, 10,000 in total. Prod stacks and every fourth catalog file carry
 * `overrides:`; every third component inherits two bases.
 *
 * Run directly: `node dist/bench/generate.js <dir>` prints the shape as JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';

export interface GenerateOptions {
  tenants?: number;
  stages?: number;
  regions?: number;
  /** Catalog variant files per module. */
  variantsPerModule?: number;
  /** Components per catalog variant file. */
  componentsPerVariant?: number;
}

export interface GeneratedRepo {
  dir: string;
  /** Every file written. */
  files: number;
  /** Files under stacks/. */
  stackFiles: number;
  /** Top-level stacks (included_paths minus excluded_paths). */
  topLevelStacks: number;
  /** Non-abstract Terraform component instances over all top-level stacks. */
  instances: number;
  /** Terraform root modules written under components/terraform/. */
  modules: string[];
  /** Longest import chain (edges) from a top-level stack. */
  importDepth: number;
  deployment: {
    name: string;
    /** The deployment's `stacks:` (no target adds stacks). */
    stacks: string[];
    targets: string[];
    /** Component addresses of the deployment. */
    components: string[];
  };
}

const TENANTS = ['core', 'payments', 'data', 'identity', 'platform', 'search', 'media', 'ml'];
const STAGES = ['dev', 'staging', 'prod', 'sandbox', 'qa', 'perf'];
const REGIONS: [string, string][] = [
  ['us-east-1', 'ue1'],
  ['us-west-2', 'uw2'],
  ['eu-west-1', 'ew1'],
  ['eu-central-1', 'ec1'],
  ['ap-southeast-1', 'as1'],
  ['ap-northeast-1', 'an1'],
  ['sa-east-1', 'se1'],
];
const DOMAINS = [
  'checkout',
  'billing',
  'ledger',
  'invoice',
  'catalog',
  'search',
  'orders',
  'cart',
  'auth',
  'profile',
  'notify',
  'reports',
  'inventory',
  'pricing',
  'shipping',
  'returns',
  'audit',
  'fraud',
  'payouts',
  'tax',
  'loyalty',
  'reviews',
  'media',
  'export',
];
const ROLES = ['api', 'worker', 'events', 'batch', 'admin'];

interface ModuleDef {
  name: string;
  /** Module-specific variables: name → [HCL type, description, default (undefined: required)]. */
  vars: Record<string, [string, string, unknown]>;
  /** Deterministic vars of component `j` of variant `v`. */
  component(variant: string, v: number, j: number): Record<string, unknown>;
  base: Record<string, unknown>;
  hardened: Record<string, unknown>;
}

const COMMON_VARS: Record<string, [string, string, unknown]> = {
  namespace: ['string', 'Organization namespace.', 'acme'],
  tenant: ['string', 'Tenant (organizational unit).', ''],
  environment: ['string', 'Short region code.', ''],
  stage: ['string', 'Stage / account.', ''],
  region: ['string', 'AWS region.', 'us-east-1'],
  account_id: ['string', '12-digit AWS account id.', '000000000000'],
  name: ['string', 'Component name.', undefined],
  enabled: ['bool', 'Create the resources.', true],
  tags: ['map(string)', 'Tags added to every resource.', {}],
};

/** Small deterministic integer hash (no Math.random anywhere). */
function h(...xs: number[]): number {
  let x = 0x811c9dc5;
  for (const n of xs) {
    x ^= n + 0x9e3779b9;
    x = Math.imul(x, 0x01000193) >>> 0;
    x ^= x >>> 15;
  }
  return x >>> 0;
}

const pick = <T>(list: readonly T[], ...seed: number[]): T => list[h(...seed) % list.length];

const MODULES: ModuleDef[] = [
  {
    name: 'vpc',
    vars: {
      cidr_block: ['string', 'VPC CIDR block.', '10.0.0.0/16'],
      az_count: ['number', 'Availability zones used.', 2],
      nat_gateway_enabled: ['bool', 'Create NAT gateways.', false],
      flow_logs_enabled: ['bool', 'Enable VPC flow logs.', false],
    },
    base: { az_count: 2, nat_gateway_enabled: false, flow_logs_enabled: false },
    hardened: { flow_logs_enabled: true },
    component: (_variant, v, j) => ({ cidr_block: `10.${(v * 10 + j) % 256}.0.0/16`, az_count: 2 + (h(v, j) % 2) }),
  },
  {
    name: 'ecr',
    vars: {
      image_tag_mutability: ['string', 'MUTABLE or IMMUTABLE.', 'IMMUTABLE'],
      scan_on_push: ['bool', 'Scan images on push.', true],
      max_image_count: ['number', 'Images kept by the lifecycle policy.', 30],
    },
    base: { image_tag_mutability: 'IMMUTABLE', scan_on_push: true, max_image_count: 30 },
    hardened: { max_image_count: 100 },
    component: (variant, v, j) => ({ max_image_count: 10 + (h(v, j, 1) % 90), tags: { repository: `${variant}-${j}` } }),
  },
  {
    name: 'ecs-service',
    vars: {
      cluster_name: ['string', 'ECS cluster.', 'default'],
      image: ['string', 'Container image.', ''],
      ecr_repository_url: ['string', 'ECR repository the service pulls from.', ''],
      container_port: ['number', 'Container port.', 8080],
      cpu: ['number', 'Task CPU units.', 256],
      memory: ['number', 'Task memory (MiB).', 512],
      replicas: ['number', 'Desired task count.', 1],
      health_check_path: ['string', 'Health check path.', '/healthz'],
      environment_variables: ['map(string)', 'Container environment.', {}],
    },
    base: { container_port: 8080, cpu: 256, memory: 512, replicas: 1, health_check_path: '/healthz' },
    hardened: { replicas: 2, environment_variables: { READ_ONLY_ROOT_FS: 'true' } },
    component: (variant, v, j) => ({
      cluster_name: variant.split('-')[0],
      cpu: pick([256, 512, 1024], v, j, 2),
      memory: pick([512, 1024, 2048], v, j, 3),
      environment_variables: { SERVICE: `${variant}-${j}`, LOG_LEVEL: pick(['info', 'warn', 'debug'], v, j) },
    }),
  },
  {
    name: 'rds',
    vars: {
      engine: ['string', 'Database engine.', 'postgres'],
      engine_version: ['string', 'Engine version.', '16.4'],
      instance_class: ['string', 'Instance class.', 'db.t4g.medium'],
      allocated_storage: ['number', 'Storage (GiB).', 20],
      multi_az: ['bool', 'Multi-AZ deployment.', false],
      backup_retention_days: ['number', 'Backup retention.', 7],
    },
    base: { engine: 'postgres', engine_version: '16.4', instance_class: 'db.t4g.medium', allocated_storage: 20 },
    hardened: { multi_az: true, backup_retention_days: 35 },
    component: (_variant, v, j) => ({
      instance_class: pick(['db.t4g.medium', 'db.r6g.large', 'db.r6g.xlarge'], v, j),
      allocated_storage: 20 * (1 + (h(v, j, 4) % 10)),
    }),
  },
  {
    name: 's3-bucket',
    vars: {
      versioning_enabled: ['bool', 'Enable versioning.', true],
      lifecycle_days: ['number', 'Expire noncurrent versions after N days.', 90],
      sse_algorithm: ['string', 'Server-side encryption.', 'AES256'],
      block_public_access: ['bool', 'Block all public access.', true],
    },
    base: { versioning_enabled: true, sse_algorithm: 'AES256', block_public_access: true },
    hardened: { sse_algorithm: 'aws:kms', lifecycle_days: 365 },
    component: (_variant, v, j) => ({ lifecycle_days: 30 * (1 + (h(v, j, 5) % 12)) }),
  },
  {
    name: 'iam-role',
    vars: {
      trusted_services: ['list(string)', 'Services allowed to assume the role.', []],
      managed_policy_arns: ['list(string)', 'Managed policies attached.', []],
      max_session_duration: ['number', 'Maximum session (seconds).', 3600],
    },
    base: { trusted_services: ['ecs-tasks.amazonaws.com'], max_session_duration: 3600 },
    hardened: { max_session_duration: 900 },
    component: (_variant, v, j) => ({
      managed_policy_arns: [`arn:aws:iam::aws:policy/${pick(['ReadOnlyAccess', 'AmazonS3ReadOnlyAccess', 'CloudWatchAgentServerPolicy'], v, j)}`],
    }),
  },
  {
    name: 'sqs-queue',
    vars: {
      visibility_timeout: ['number', 'Visibility timeout (seconds).', 30],
      message_retention_seconds: ['number', 'Retention (seconds).', 345600],
      fifo: ['bool', 'FIFO queue.', false],
      dlq_max_receive_count: ['number', 'Receives before the dead-letter queue.', 5],
    },
    base: { visibility_timeout: 30, message_retention_seconds: 345600, fifo: false },
    hardened: { dlq_max_receive_count: 3 },
    component: (_variant, v, j) => ({ visibility_timeout: 30 * (1 + (h(v, j, 6) % 10)), fifo: j % 4 === 0 }),
  },
  {
    name: 'sns-topic',
    vars: {
      fifo: ['bool', 'FIFO topic.', false],
      subscriptions: ['list(object({ protocol = string, endpoint = string }))', 'Subscriptions.', []],
    },
    base: { fifo: false, subscriptions: [] },
    hardened: { fifo: true },
    component: (variant, _v, j) => ({
      subscriptions: [
        { protocol: 'sqs', endpoint: `arn:aws:sqs:us-east-1:000000000000:${variant}-${j}` },
        { protocol: 'https', endpoint: `https://hooks.example.com/${variant}/${j}` },
      ],
    }),
  },
  {
    name: 'lambda',
    vars: {
      runtime: ['string', 'Runtime.', 'nodejs20.x'],
      handler: ['string', 'Handler.', 'index.handler'],
      memory_size: ['number', 'Memory (MiB).', 256],
      timeout: ['number', 'Timeout (seconds).', 30],
      environment_variables: ['map(string)', 'Function environment.', {}],
    },
    base: { runtime: 'nodejs20.x', handler: 'index.handler', memory_size: 256, timeout: 30 },
    hardened: { timeout: 10 },
    component: (variant, v, j) => ({
      memory_size: pick([128, 256, 512, 1024], v, j, 7),
      environment_variables: { FUNCTION: `${variant}-${j}` },
    }),
  },
  {
    name: 'dns-record',
    vars: {
      zone_name: ['string', 'Hosted zone.', 'example.com'],
      record_type: ['string', 'Record type.', 'CNAME'],
      ttl: ['number', 'TTL (seconds).', 300],
      records: ['list(string)', 'Record values.', []],
    },
    base: { zone_name: 'acme.example.com', record_type: 'CNAME', ttl: 300 },
    hardened: { ttl: 60 },
    component: (variant, _v, j) => ({ records: [`${variant}-${j}.lb.acme.example.com`] }),
  },
];

function yamlFile(header: string, body: Record<string, unknown>): string {
  return `# ${header}\n${stringify(body, { lineWidth: 0 })}`;
}

function hclValue(v: unknown): string {
  return JSON.stringify(v);
}

function variablesTf(mod: ModuleDef): string {
  const all = { ...COMMON_VARS, ...mod.vars };
  return Object.entries(all)
    .map(([name, [type, description, def]]) => {
      const lines = [`variable "${name}" {`, `  type        = ${type}`, `  description = ${JSON.stringify(description)}`];
      if (def !== undefined) lines.push(`  default     = ${hclValue(def)}`);
      lines.push('}');
      return lines.join('\n');
    })
    .join('\n\n')
    .concat('\n');
}

function mainTf(mod: ModuleDef): string {
  return [
    'terraform {',
    '  required_version = ">= 1.5.0"',
    '}',
    '',
    'resource "terraform_data" "this" {',
    '  count = var.enabled ? 1 : 0',
    `  input = { name = "\${var.namespace}-\${var.tenant}-\${var.stage}-\${var.name}", module = "${mod.name}" }`,
    '}',
    '',
    'output "id" {',
    '  value = one(terraform_data.this[*].output.name)',
    '}',
    '',
    // What the services read from their registry ({{ terraform.ecr/<svc>-0.outputs.repository_url }}):
    // a template naming an output the module does not declare is refused.
    ...(mod.name === 'ecr' ? ['output "repository_url" {', `  value = "123456789012.dkr.ecr.us-east-2.amazonaws.com/\${var.name}"`, '}', ''] : []),
  ].join('\n');
}

function variantName(v: number): string {
  return `${DOMAINS[Math.floor(v / ROLES.length) % DOMAINS.length]}-${ROLES[v % ROLES.length]}`;
}

/** Generate the repository into `dir` (created if needed; existing files are overwritten). */
export function generateRepo(dir: string, options: GenerateOptions = {}): GeneratedRepo {
  const nTenants = options.tenants ?? 5;
  const nStages = options.stages ?? 4;
  const nRegions = options.regions ?? 5;
  const nVariants = options.variantsPerModule ?? 85;
  const perVariant = options.componentsPerVariant ?? 10;
  if (nTenants > TENANTS.length || nStages > STAGES.length || nRegions > REGIONS.length) throw new Error('generateRepo: too many tenants, stages or regions');
  if (nVariants > DOMAINS.length * ROLES.length) throw new Error(`generateRepo: at most ${DOMAINS.length * ROLES.length} variants per module`);

  const tenants = TENANTS.slice(0, nTenants);
  const stages = STAGES.slice(0, nStages);
  const regions = REGIONS.slice(0, nRegions);
  let files = 0;
  let stackFiles = 0;
  const write = (rel: string, text: string) => {
    const abs = path.join(dir, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, text);
    files++;
    if (rel.startsWith('stacks/')) stackFiles++;
  };

  // --- atmos.yaml ----------------------------------------------------------
  write(
    'atmos.yaml',
    yamlFile('Synthetic enterprise repository generated by bench/generate.ts', {
      base_path: '.',
      components: { terraform: { base_path: 'components/terraform', auto_generate_backend_file: true } },
      stacks: {
        base_path: 'stacks',
        included_paths: ['orgs/**/*'],
        excluded_paths: ['**/_defaults.yaml'],
        name_pattern: '{tenant}-{environment}-{stage}',
      },
      deployments: { base_path: 'deployments' },
      settings: { list_merge_strategy: 'replace' },
    }),
  );

  // --- Terraform modules ---------------------------------------------------
  for (const mod of MODULES) {
    write(`components/terraform/${mod.name}/variables.tf`, variablesTf(mod));
    write(`components/terraform/${mod.name}/main.tf`, mainTf(mod));
  }

  // --- catalog: abstract bases ---------------------------------------------
  for (const mod of MODULES) {
    write(
      `stacks/catalog/${mod.name}/defaults.yaml`,
      yamlFile(`Abstract bases of ${mod.name}`, {
        components: {
          terraform: {
            [`${mod.name}/defaults`]: {
              metadata: { type: 'abstract', component: mod.name },
              settings: { module: mod.name, validation: { schema: `${mod.name}.json` } },
              vars: mod.base,
            },
            [`${mod.name}/hardened`]: {
              metadata: { type: 'abstract', component: mod.name },
              settings: { compliance: 'hardened' },
              vars: { ...mod.hardened, tags: { hardened: 'true' } },
            },
          },
        },
      }),
    );
  }

  // --- catalog: variants (perVariant concrete components each) -----------
  for (const [m, mod] of MODULES.entries()) {
    for (let v = 0; v < nVariants; v++) {
      const variant = variantName(v);
      const components: Record<string, unknown> = {};
      for (let j = 0; j < perVariant; j++) {
        const inherits = j % 3 === 0 ? [`${mod.name}/defaults`, `${mod.name}/hardened`] : [`${mod.name}/defaults`];
        const metadata: Record<string, unknown> = { component: mod.name, inherits };
        if (j === 0) metadata.labels = { service: variant };
        components[`${mod.name}/${variant}-${j}`] = {
          metadata,
          settings: { owner: variant.split('-')[0], order: j },
          vars: { name: `${variant}-${j}`, ...mod.component(variant, v * MODULES.length + m, j) },
        };
      }
      const body: Record<string, unknown> = { components: { terraform: components } };
      if (v % 4 === 0) body.terraform = { overrides: { env: { LOG_FORMAT: 'json' }, settings: { reviewed: true } } };
      write(`stacks/catalog/${mod.name}/${variant}.yaml`, yamlFile(`${mod.name} components of ${variant}`, body));
    }
  }

  // --- region mixins -------------------------------------------------------
  for (const [region, code] of regions) {
    write(
      `stacks/mixins/region/${region}.yaml`,
      yamlFile(`Region mixin ${region}`, {
        vars: { region, environment: code },
        components: { terraform: { 'vpc/defaults': { vars: { az_count: region.startsWith('us-') ? 3 : 2 } } } },
      }),
    );
  }

  // --- org / tenant / account defaults -------------------------------------
  write(
    'stacks/orgs/acme/_defaults.yaml',
    yamlFile('Organization defaults', {
      import: MODULES.map((mod) => `catalog/${mod.name}/defaults`),
      vars: { namespace: 'acme', tags: { namespace: 'acme', managed_by: 'atmos' } },
      settings: { spacelift: { workspace_enabled: false } },
      terraform: {
        backend_type: 's3',
        backend: {
          s3: { bucket: 'acme-tfstate', key: 'terraform.tfstate', region: 'us-east-1', encrypt: true, dynamodb_table: 'acme-tfstate-lock' },
        },
        vars: { tags: { provisioned_by: 'terraform' } },
        settings: { depends_on_drift: false },
      },
    }),
  );
  for (const [t, tenant] of tenants.entries()) {
    write(
      `stacks/orgs/acme/${tenant}/_defaults.yaml`,
      yamlFile(`Tenant ${tenant}`, {
        import: ['orgs/acme/_defaults'],
        vars: { tenant, tags: { tenant, cost_center: `cc-${1000 + t}` } },
      }),
    );
    for (const [s, stage] of stages.entries()) {
      write(
        `stacks/orgs/acme/${tenant}/${stage}/_defaults.yaml`,
        yamlFile(`Account ${tenant}-${stage}`, {
          import: [`orgs/acme/${tenant}/_defaults`],
          vars: { stage, account_id: String(100000000000 + t * 1000 + s), tags: { stage } },
          terraform: { vars: { enabled: true } },
        }),
      );
    }
  }

  // --- top-level stacks ----------------------------------------------------
  let stackIndex = 0;
  let instances = 0;
  for (const tenant of tenants) {
    for (const stage of stages) {
      for (const [region, code] of regions) {
        const s = stackIndex++;
        const imports = [`orgs/acme/${tenant}/${stage}/_defaults`, `mixins/region/${region}`];
        const own: Record<string, unknown> = {};
        for (const [m, mod] of MODULES.entries()) {
          const variant = variantName((7 * s + 13 * m) % nVariants);
          imports.push(`catalog/${mod.name}/${variant}`);
          if (m % 3 === 0) own[`${mod.name}/${variant}-0`] = { vars: { tags: { stack: `${tenant}-${stage}-${region}` } } };
          instances += perVariant;
        }
        const body: Record<string, unknown> = { import: imports, components: { terraform: own } };
        if (stage === 'prod') body.overrides = { settings: { protected: true }, vars: { tags: { protected: 'true' } } };
        write(`stacks/orgs/acme/${tenant}/${stage}/${region}.yaml`, yamlFile(`Top-level stack ${tenant}-${code}-${stage}`, body));
      }
    }
  }

  // --- the deployment ------------------------------------------------------
  const svc = 'checkout-api';
  const svcIndex = DOMAINS.indexOf('checkout') * ROLES.length + ROLES.indexOf('api');
  if (svcIndex >= nVariants) throw new Error('generateRepo: the deployment needs the checkout-api variant');
  const depTenant = tenants.includes('payments') ? 'payments' : tenants[0];
  const depStacks = [`orgs/acme/${depTenant}/_defaults`, `mixins/region/${regions[0][0]}`, `catalog/ecr/${svc}`, `catalog/ecs-service/${svc}`];
  const tf: Record<string, unknown> = {
    [`ecr/${svc}-0`]: { metadata: { component: 'ecr' }, vars: { name: 'checkout' } },
    [`ecs-service/${svc}-0`]: {
      metadata: { component: 'ecs-service', labels: { service: 'checkout' }, depends_on: [`terraform/ecr/${svc}-0`] },
      vars: {
        cluster_name: 'checkout',
        ecr_repository_url: `{{ terraform.ecr/${svc}-0.outputs.repository_url }}`,
        environment_variables: { APP_ENV: '{{ target.name }}', GIT_SHA: '{{ git.short_sha }}' },
      },
    },
    [`ecs-service/${svc}-1`]: {
      metadata: { depends_on: [`terraform/ecs-service/${svc}-0`] },
      vars: { cluster_name: 'checkout', environment_variables: { ROLE: 'worker' } },
    },
    [`ecs-service/${svc}-2`]: { metadata: { depends_on: [`terraform/ecs-service/${svc}-0`] }, vars: { cluster_name: 'checkout' } },
  };
  const deploymentName = 'checkout';
  const targets = ['dev', 'staging', 'prod'];
  write(
    `deployments/${deploymentName}.yaml`,
    yamlFile('Generated deployment: lists exactly 4 stack files', {
      deployment: {
        name: deploymentName,
        description: 'Checkout API (synthetic benchmark deployment)',
        labels: { team: depTenant },
        stacks: depStacks,
        context: { default_target: 'dev', promote_by: 'digest' },
        components: {
          nixpack: {
            checkout: {
              metadata: { labels: { service: 'checkout' } },
              vars: { source: './services/checkout', image: { name: 'checkout', tag: '{{ git.sha }}' } },
              settings: { nixpack: { publish: false } },
            },
          },
          terraform: tf,
        },
        targets: {
          dev: { labels: { environment: 'dev' }, context: { cpu: 256, memory: 512, replicas: 1 } },
          staging: { labels: { environment: 'staging' }, promotion: { from: 'dev' }, context: { cpu: 512, memory: 1024, replicas: 2 } },
          prod: {
            labels: { environment: 'prod' },
            promotion: { from: 'staging', requires_approval: true },
            context: { cpu: 1024, memory: 2048, replicas: 4 },
          },
        },
      },
    }),
  );
  write(
    'services/checkout/package.json',
    `${JSON.stringify({ name: 'checkout', version: '1.0.0', private: true, type: 'module', scripts: { start: 'node index.js', test: 'node --test' } }, null, 2)}\n`,
  );
  write(
    'services/checkout/package-lock.json',
    `${JSON.stringify({ name: 'checkout', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'checkout', version: '1.0.0' } } }, null, 2)}\n`,
  );
  write('services/checkout/index.js', "import { createServer } from 'node:http';\ncreateServer((_req, res) => res.end('ok')).listen(Number(process.env.PORT ?? 8080));\n");

  return {
    dir,
    files,
    stackFiles,
    topLevelStacks: stackIndex,
    instances,
    modules: MODULES.map((m) => m.name),
    importDepth: 4,
    deployment: {
      name: deploymentName,
      stacks: depStacks,
      targets,
      components: ['nixpack/checkout', ...Object.keys(tf).map((k) => `terraform/${k}`)],
    },
  };
}

// `node dist/bench/generate.js <dir>`
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node dist/bench/generate.js <dir>\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(generateRepo(path.resolve(dir)), null, 2)}\n`);
}
