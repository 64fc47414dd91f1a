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
    `,
    examples: [['Plan prod', '$0 plan payment-service --target prod']],
  });
  deployment = Option.String({ required: false, name: 'deployment' });
  protected pipelineName(): string {
    return 'plan';
  }
  protected deploymentArg(): string | undefined {
    return this.deployment;
  }
}
