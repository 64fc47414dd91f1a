/**
 * The built-in modules (SPEC 8), registered by name: the built-in pipelines name them
 * (`useModule('terraform.apply')`) and the run binds each name to its module here, as it
 * will bind the modules of a user's repository.
 */
import { moduleRegistry } from 'atmos-pipe/module';
import { nixpackBuild, nixpackTest } from './nixpack/index.js';
import { terraformApply, terraformDrift, terraformPlan } from './terraform/index.js';
import { zip } from './zip/index.js';

export const builtinModules = moduleRegistry(terraformApply, terraformPlan, terraformDrift, nixpackBuild, nixpackTest, zip);
