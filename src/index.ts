// The Worker's entry: HTTP through the Hono app, the cron sweep, and the Durable Object classes.

import { app } from "./app";
import { sweep } from "./sweep/sweep";

export { PollModel } from "./poll-model/poll-model";
export { ReceiverDirectory } from "./receivers/receiver-directory";
export { ReceiverOrigin } from "./receivers/receiver-origin";
export { UpstreamBudget } from "./upstream-budget/upstream-budget";
export { WatchIndex } from "./watch-index/watch-index";
export { AssetWatcher } from "./watcher/asset-watcher";

export default {
	fetch: app.fetch,
	// The sweep reads the service's clock, like the asset objects it compares against.
	async scheduled(_controller, env, ctx) {
		ctx.waitUntil(sweep(env));
	},
} satisfies ExportedHandler<Env>;
