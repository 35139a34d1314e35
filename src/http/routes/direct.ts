import type { DirectResponse } from '../../blob/store.js';
import { planDelivery } from '../../delivery/plan.js';
import type { AssetRecord } from '../../meta/repository.js';

/**
 * The headers object storage should serve an asset with when a client follows a presigned
 * redirect: the same Content-Type and Content-Disposition as the service's own file URL (taken
 * from the delivery plan, so there is one definition of them).
 */
export function directResponse(asset: AssetRecord): DirectResponse {
  const plan = planDelivery(
    { etag: `"${asset.sha256}"`, size: asset.sizeBytes, contentType: asset.mimeType, lastModified: asset.createdAt, fileName: asset.name },
    { method: 'GET' },
  );
  return { contentType: asset.mimeType, contentDisposition: plan.headers['content-disposition'] ?? 'inline' };
}
