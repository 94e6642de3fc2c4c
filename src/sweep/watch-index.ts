// WatchIndex: the sharded index of assets and watches that the cron sweep reads.
// (Filled in by the sweep work; the class exists now so the binding and migration are stable.)

import { DurableObject } from "cloudflare:workers";

export class WatchIndex extends DurableObject<Env> {}
