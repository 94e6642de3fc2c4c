// What the simulator and the receiver share as command-line programs: whether this module is
// the one `node` was started with (rather than imported by a test or a script).

import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";

/** True when the module at `moduleUrl` (its import.meta.url) is the program node was started with. */
export function isMain(moduleUrl) {
	if (!process.argv[1]) return false;
	try {
		return pathToFileURL(realpathSync(process.argv[1])).href === moduleUrl;
	} catch {
		return false;
	}
}
