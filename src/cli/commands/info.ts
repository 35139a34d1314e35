import type { Command } from 'commander';
import { findAsset } from '../../http/routes/assets.js';
import { toAssetJson } from '../../http/asset-json.js';
import { AmsError } from '../../errors.js';
import { CliError, withRuntime } from '../runtime.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description("print an asset's metadata (as GET /assets/{id} returns it) from the configured data directory")
    .argument('<id>', 'asset id (a GUID)')
    .action(async (id: string) => {
      await withRuntime(async ({ deps }, config) => {
        try {
          const asset = await findAsset(deps.repo, id);
          const base = config.publicUrl ?? `http://localhost:${config.port}`;
          process.stdout.write(`${JSON.stringify({ ...toAssetJson(asset, base), sizeBytes: asset.sizeBytes, sha256: asset.sha256, blobKey: asset.blobKey, createdAt: asset.createdAt.toISOString() }, null, 2)}\n`);
        } catch (err) {
          if (err instanceof AmsError && err.code === 'NOT_FOUND') throw new CliError(`no asset ${id} in ${config.dataDir}; check the id and AMS_DATA_DIR`);
          throw err;
        }
      });
    });
}
