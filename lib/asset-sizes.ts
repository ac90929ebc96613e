import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** SPEC §8: each Lambda bundle ≤ 1 MB minified (MB as Lambda counts it: 2^20 bytes). */
export const BUNDLE_LIMIT_BYTES = 1024 * 1024;
/** SPEC §8: the webhook handler ≤ 300 KB, so its cold start stays well inside GitHub's 10 s. */
export const WEBHOOK_BUNDLE_LIMIT_BYTES = 300 * 1024;

export interface LambdaAssetSize {
  /** Construct path of the function (`CodeFactory/Functions/Webhook/Function`), else its logical id. */
  name: string;
  /** Bytes of the minified bundle (index.mjs). */
  bundleBytes: number;
  /** Bytes of everything in the asset folder (what is zipped and uploaded); the bundle alone today. */
  assetBytes: number;
}

interface TemplateResource {
  Type: string;
  Properties?: { Code?: { S3Key?: unknown } };
  Metadata?: Record<string, unknown>;
}

/**
 * Measures every Lambda asset of a synthesized stack: reads the template in the cloud assembly
 * directory and the `asset.<hash>` folder each function's code points to. Used by the infra tests
 * and by `npm run bench`.
 */
export function lambdaAssetSizes(assemblyDir: string, stackName: string): LambdaAssetSize[] {
  const template = JSON.parse(readFileSync(join(assemblyDir, `${stackName}.template.json`), 'utf8')) as {
    Resources: Record<string, TemplateResource>;
  };
  const sizes: LambdaAssetSize[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const s3Key = resource.Properties?.Code?.S3Key;
    if (typeof s3Key !== 'string') continue; // inline code: no asset to measure
    const assetDir = join(assemblyDir, `asset.${s3Key.replace(/\.zip$/, '')}`);
    const bundle = ['index.mjs', 'index.js'].map((file) => join(assetDir, file)).find(existsSync);
    if (!bundle) throw new Error(`no bundle in ${assetDir} (function ${logicalId})`);
    const cdkPath = resource.Metadata?.['aws:cdk:path'];
    sizes.push({
      name: typeof cdkPath === 'string' ? cdkPath.replace(/\/Resource$/, '') : logicalId,
      bundleBytes: statSync(bundle).size,
      assetBytes: readdirSync(assetDir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .reduce((sum, entry) => sum + statSync(join(entry.parentPath, entry.name)).size, 0),
    });
  }
  return sizes;
}
