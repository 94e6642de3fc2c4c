// What the simulator and the receiver share: the error their control APIs answer with, and
// whether a module is the program `node` was started with (rather than imported by a test).

import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";

/** An error a control route answers as `{ error }` with its HTTP status. */
export class ControlError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

/** A 400 for a control request (a script, a behaviour) that cannot be taken as it is. */
export function invalid(message) {
	return new ControlError(400, message);
}

/** True when the module at `moduleUrl` (its import.meta.url) is the program node was started with. */
export function isMain(moduleUrl) {
	if (!process.argv[1]) return false;
	try {
		return pathToFileURL(realpathSync(process.argv[1])).href === moduleUrl;
	} catch {
		return false;
	}
}
