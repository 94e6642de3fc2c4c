import { DurableObject } from "cloudflare:workers";
export class AssetWatcher extends DurableObject {}
export class WatchIndex extends DurableObject {}
export default { fetch: () => new Response("ok") };
