// A receiver origin, as the circuit sees it: the scheme, host and port of a callback URL, per
// owner. Each (owner, origin) has its own ReceiverOrigin object, named by a hash of the two, so one
// token's failures never pause another token's deliveries and no token can name another's object.

import { hashToken } from "../core/ids";

/** Whose deliveries to which origin: the unit the circuit counts, pauses and lists. */
export interface OriginRef {
	/** the owner hash of the watches (SHA-256 of the token's owner key) */
	owner: string;
	/** `scheme://host[:port]` as the URL standard writes an origin (the default port left out) */
	origin: string;
}

/** The origin of a stored (already normalised) callback URL. */
export function originOf(callbackUrl: string): string {
	return new URL(callbackUrl).origin;
}

/** The ReceiverOrigin object's name: a hash, so the name says nothing of the owner or the origin. */
export async function originObjectName(ref: OriginRef): Promise<string> {
	return `origin-${await hashToken(`${ref.owner}\n${ref.origin}`)}`;
}

/** A key for maps held in memory. */
export const refKey = (ref: OriginRef) => `${ref.owner} ${ref.origin}`;
