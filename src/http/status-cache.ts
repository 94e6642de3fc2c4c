// The edge cache of terminal status answers (`GET /v1/assets/:asset_id`): its key, and forgetting
// an entry when a registration or a cancel changes what the answer says (`watched`), so that the
// data centre that served the change shows it at once rather than up to a minute later.

import { version } from "../../package.json";

/** The edge cache key of an asset's status: per asset and per release (the body's shape may change). */
export function statusCacheKey(requestUrl: string, assetId: string): Request {
	const origin = new URL(requestUrl).origin;
	return new Request(`${origin}/_edge/asset-status/${version}/${encodeURIComponent(assetId)}`);
}

export async function forgetCachedStatus(requestUrl: string, assetId: string): Promise<void> {
	try {
		await caches.default.delete(statusCacheKey(requestUrl, assetId));
	} catch {
		// The entry then lives out its minute; a cache failure must not fail the change itself.
	}
}
