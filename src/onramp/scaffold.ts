/**
 * The files of a new repository (`atmos-pipe init` in an empty directory): atmos.yaml, one
 * stack, one offline Terraform module (terraform_data, local-exec and outputs only: no
 * provider to download, no cloud account), one deployment whose first target is the entry
 * point and each later one is promoted from the one before (the last with an approval), and a
 * .gitignore keeping the tool's cache out of Git. Everything validates and rolls out to the
 * first target unedited.
 */

/** One file to write: repository-relative path and content. */
export interface ScaffoldFile {
  path: string;
  content: string;
}

export interface ScaffoldOptions {
  /** Deployment name (kebab-case, checked by the caller). */
  name: string;
  /** Target names in promotion order (kebab-case, at least one, checked by the caller). */
  targets: string[];
}

/** The Terraform root module of the scaffold (also its Atmos component name). */
export const SCAFFOLD_COMPONENT = 'hello';

/** The entries the repository's .gitignore needs (the cache, state and workspaces). */
export const GITIGNORE_ENTRIES = ['.atmos/', '.terraform/', '*.tfstate', '*.tfstate.backup'];

export function atmosYaml(): string {
  return `# Atmos CLI configuration. atmos-pipe reads the keys it knows (paths and the
# \`deployments:\` section) and ignores the rest; Atmos reads this same file.
base_path: "."

components:
  terraform:
    base_path: components/terraform

stacks:
  base_path: stacks
  included_paths:
    - "**/*"

deployments:
  base_path: deployments
  releases_path: releases
  cache_dir: .atmos
`;
}

function stack(name: string): string {
  return `# An Atmos stack: the deployment "${name}" lists it under \`stacks:\`.
vars:
  owner: platform

components:
  terraform:
    ${SCAFFOLD_COMPONENT}:
      vars:
        greeting: hello
        replicas: 1
`;
}

const MODULE = `# An offline Terraform root module: no provider to download, no cloud account.
# terraform_data records its input in state; the local-exec provisioner runs once
# per change, on the machine (or sandbox) that applies it.

variable "greeting" {
  type        = string
  description = "What the component says."
}

variable "owner" {
  type        = string
  description = "Set by the stack for every component."
  default     = "nobody"
}

variable "replicas" {
  type        = number
  description = "Set per target by the deployment's context."
  default     = 1
}

variable "message" {
  type        = string
  description = "Set by the deployment (a template)."
  default     = ""
}

resource "terraform_data" "hello" {
  input = {
    text     = "\${var.greeting}, \${var.message} (\${var.replicas} replicas, owned by \${var.owner})"
    replicas = var.replicas
  }

  provisioner "local-exec" {
    command = "echo \\"applied: \${self.input.text}\\""
  }
}

output "text" {
  description = "What was applied."
  value       = terraform_data.hello.output.text
}

output "replicas" {
  value = terraform_data.hello.output.replicas
}
`;

function deployment(o: ScaffoldOptions): string {
  const lines = [
    `# The deployment "${o.name}": what to deploy (components), where (targets) and how`,
    '# changes move between targets (promotion). See `atmos-pipe describe` for the result.',
    'deployment:',
    `  name: ${o.name}`,
    '  description: A first deployment scaffolded by atmos-pipe init',
    `  stacks: [${o.name}]                # the only stack files loaded (plus their imports)`,
    '  components:',
    '    terraform:',
    `      ${SCAFFOLD_COMPONENT}:`,
    '        vars:',
    '          message: "{{ deployment.name }} on {{ target.name }}"',
    '  targets:',
  ];
  o.targets.forEach((t, i) => {
    lines.push(`    ${t}:`);
    if (i > 0) {
      const last = i === o.targets.length - 1;
      lines.push(`      promotion: { from: ${o.targets[i - 1]}${last ? ', requires_approval: true' : ''} }`);
    }
    lines.push(`      context: { replicas: ${2 ** i} }`);
  });
  return `${lines.join('\n')}\n`;
}

/** Every file of a new repository (atmos.yaml without its `commands:` block, which init adds). */
export function scaffoldFiles(o: ScaffoldOptions): ScaffoldFile[] {
  return [
    { path: 'atmos.yaml', content: atmosYaml() },
    { path: `stacks/${o.name}.yaml`, content: stack(o.name) },
    { path: `components/terraform/${SCAFFOLD_COMPONENT}/main.tf`, content: MODULE },
    { path: `deployments/${o.name}.yaml`, content: deployment(o) },
    { path: '.gitignore', content: `# atmos-pipe: cache, local state and workspaces (never committed)\n${GITIGNORE_ENTRIES.join('\n')}\n` },
  ];
}
