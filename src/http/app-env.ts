// The Hono context of this app: the Workers bindings and the variables middleware sets.

import type { RequestIdVariables } from "hono/request-id";

export type AppEnv = {
	Bindings: Env;
	Variables: RequestIdVariables & {
		/** SHA-256 (hex) of the caller's bearer token: the owner of the watches it makes */
		owner: string;
		/** the client name of a `client:token` entry (whose CLIENT_WEBHOOK_SECRETS sign), or null */
		client: string | null;
	};
};
