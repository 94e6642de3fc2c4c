// The Worker's entry: HTTP through the Hono app, the cron sweep, and the Durable Object classes.

import { app } from "./app";
import { sweep } from "./sweep/sweep";

export { AssetWatcher } from "./watcher/asset-watcher";
export { WatchIndex } from "./sweep/watch-index";

export default {
	fetch: app.fetch,
	async scheduled(controller, env, ctx) {
		ctx.waitUntil(sweep(env, controller.scheduledTime));
	},
} satisfies ExportedHandler<Env>;
