import path from 'node:path';
import { Command, Option } from 'clipanion';
import { PipelineCommand } from '../options.js';

/** `plan [deployment]`: the plan pipeline (terraform plan; records nothing). */
export class PlanCommand extends PipelineCommand {
  static override paths = [['plan']];
  static override usage = Command.Usage({
    category: 'Run',
    description: 'Plan a deployment for a target (shorthand for `run plan`)',
    details: `
      Runs \`terraform plan\` for every Terraform component and prints, per component, how many resources would be added, changed and destroyed. Records nothing.

      With \`--out <dir>\`, each component's plan file is stored in \`<dir>/<component>/\` with the \`.terraform.lock.hcl\` it was made with and the digests of its inputs and of the state it read (\`plan.json\`); the directory is the artifact a later CI job applies with \`rollout --from-plan <dir>\`. A plan file holds the variables' values: keep the directory as secret as they are.
    `,
    examples: [
      ['Plan prod', '$0 plan payment-service --target prod'],
      ['Store the plans for a later apply', '$0 plan payment-service --target prod --out plans/'],
    ],
  });
  deployment = Option.String({ required: false, name: 'deployment' });
  out = Option.String('--out', { description: "Store each component's plan (plan file, lock file, input and state digests) in this directory" });
  protected override storedPlans(): { planOut?: string } {
    return this.out === undefined ? {} : { planOut: path.resolve(this.chdir ?? process.cwd(), this.out) };
  }
  protected pipelineName(): string {
    return 'plan';
  }
  protected deploymentArg(): string | undefined {
    return this.deployment;
  }
}
