// Benchmarks, run with `npm run bench` (after a build). Each figure is a ratio
// against a baseline measured in the same run on the same machine, never an
// absolute number: the machines this runs on differ.
import { api } from './api.mjs';
import { executions } from './executions.mjs';
import { ingest } from './ingest.mjs';
import { renderer } from './renderer.mjs';
import { webhooks } from './webhooks.mjs';

const only = process.argv[2];
const suites = [api, webhooks, ingest, executions, renderer].filter((suite) => !only || suite.name === only);
const results = [];
for (const suite of suites) results.push(...(await suite.run()));

console.log('\n' + JSON.stringify({ event: 'bench', results }, null, 2));
