// vitest global setup: the static assets the worker serves (scripts/build-assets.mjs), built before
// any test runs, so `npx vitest` works on a fresh clone as `wrangler dev` does.
import { buildAssets } from "../scripts/build-assets.mjs";

export default function setup() {
	buildAssets();
}
