import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand } from '../base.js';
import type { OutputFormat } from '../../render/index.js';

/** Document formats (what the SBOM is written as) and summary formats (how `--summary` prints). */
const DOCUMENT_FORMATS = ['cyclonedx-json', 'spdx-json'] as const;
const SUMMARY_FORMATS = ['table', 'json', 'yaml'] as const;

export class SbomCommand extends BaseCommand {
  static override paths = [['sbom']];
  static override usage = Command.Usage({
    category: 'Inspect',
    description: 'Software bill of materials of a deployment (CycloneDX 1.6 or SPDX 2.3 JSON)',
    details: `
      Each component contributes its own SBOM: a nixpack component its application, the libraries pinned by its lock files (package-lock.json, go.mod/go.sum, requirements.txt, poetry.lock, Cargo.lock) with their dependency graph, and its built image; a Terraform component the providers of its \`.terraform.lock.hcl\` (versions, hashes) and the modules it calls. The deployment's SBOM puts them under the deployment, each package once.

      The document is CycloneDX 1.6 JSON, validated against the CycloneDX schema, or SPDX 2.3 JSON with \`--format spdx-json\`. It is deterministic: the timestamp is SOURCE_DATE_EPOCH (else the commit time) and the serial number is derived from the content.

      \`--git-sha <sha>\` describes the release made at that commit (a prefix of 4+ hex characters): generated from the release itself — that commit's configuration, the image digests the release pinned and its context overrides — for the target given, else the one the release was made for; the CycloneDX document is the one the release attached to the commit (\`refs/notes/atmos/<d>/sbom\`). Without a release at that commit it exits 2.

      \`--summary\` prints one line per component instead (\`--format json\` or \`yaml\` for data); with \`--output\` the document is written to the file and the summary printed.
    `,
    examples: [
      ['CycloneDX for dev', '$0 sbom payment-service --target dev'],
      ['SPDX into a file', '$0 sbom payment-service --target prod --format spdx-json --output sbom.spdx.json'],
      ['One component', '$0 sbom payment-service --target dev --component nixpack/api'],
      ['What is in it', '$0 sbom payment-service --target dev --summary'],
      ['The release made at a commit', '$0 sbom payment-service --git-sha abc123def'],
    ],
  });

  deployment = Option.String({ required: false, name: 'deployment' });
  target = Option.String('-t,--target', { description: 'Target (default: context.default_target or the only one)' });
  component = Option.String('-c,--component', { description: 'Only this component (address or bare name)' });
  gitSha = Option.String('--git-sha', { description: 'The SBOM of the release made at this commit (its configuration, pinned images and context)' });
  summary = Option.Boolean('--summary', false, { description: 'Print a summary per component instead of the document' });
  output = Option.String('-o,--output', { description: 'Write the document to this file' });
  format = Option.String('-f,--format', {
    description: 'Document: cyclonedx-json (default) or spdx-json; summary: table (default), json or yaml',
    validator: t.isEnum([...DOCUMENT_FORMATS, ...SUMMARY_FORMATS]),
  });

  protected override outputFormat(): OutputFormat {
    return ((SUMMARY_FORMATS as readonly string[]).includes(this.format ?? '') ? this.format : 'table') as OutputFormat;
  }

  async run(): Promise<number> {
    const isDocFormat = (DOCUMENT_FORMATS as readonly string[]).includes(this.format ?? 'cyclonedx-json');
    if (!this.summary && !isDocFormat) {
      const { DiagnosticError, error } = await import('../../diagnostics/index.js');
      throw new DiagnosticError(
        error('args/format', `--format ${this.format} is a summary format`, undefined, 'the document formats are cyclonedx-json and spdx-json; add --summary for a table, json or yaml summary'),
      );
    }
    const { lib, repo, dep, target } = await this.deploymentAndTarget(this.deployment, this.target, this.gitSha === undefined);
    const sbom = await import('../../sbom/index.js');
    const only = this.component !== undefined ? { component: this.component } : {};
    let r: import('../../sbom/index.js').DeploymentSbom;
    if (this.gitSha !== undefined) {
      const { releaseSbomAt } = await import('../../rollout/index.js');
      const at = await releaseSbomAt(repo, dep, this.gitSha, { ...(this.target !== undefined ? { target } : {}), ...only });
      if (!this.quiet) this.context.stderr.write(`SBOM of release ${at.release.id} (commit ${at.release.record.git_sha.slice(0, 12)}) for ${at.target}\n`);
      r = at.sbom;
    } else r = await sbom.deploymentSbom(repo, dep, target, only);
    await this.warn(r.warnings);
    const spdx = this.format === 'spdx-json';
    const document = spdx ? await sbom.toSpdxJson(r.model) : r.cyclonedx;

    if (this.output !== undefined) {
      const path = await import('node:path');
      const { writeOutputFile } = await import('../../output/file.js');
      const file = path.resolve(this.chdir ?? process.cwd(), this.output);
      try {
        writeOutputFile(file, document);
      } catch (e) {
        throw new lib.DiagnosticError(lib.error('sbom/output', `cannot write ${this.output}: ${(e as Error).message}`, undefined, 'choose a writable path'), 'failed');
      }
      if (!this.quiet) {
        const { createHash } = await import('node:crypto');
        const what = spdx ? 'SPDX 2.3' : 'CycloneDX 1.6';
        this.context.stderr.write(`wrote ${this.output} (${what}, ${r.summary.packages} packages, sha256:${createHash('sha256').update(document).digest('hex')})\n`);
      }
    }

    if (this.summary) {
      const { renderSbomSummary } = await import('../render/sbom.js');
      await this.print(r.summary, (c) => renderSbomSummary(r.summary, c));
    } else if (this.output === undefined) {
      this.write(document);
    }
    return 0;
  }
}
