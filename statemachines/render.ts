/** `npm run asl`: regenerates statemachines/pipeline.asl.json from statemachines/pipeline.ts. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderPipeline } from './pipeline';

const target = fileURLToPath(new URL('./pipeline.asl.json', import.meta.url));
writeFileSync(target, renderPipeline());
process.stdout.write(`wrote ${target}\n`);
