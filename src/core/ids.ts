// Identifiers. A watch id carries its asset id (base64url), so `GET /v1/watches/:id` reaches
// the asset's Durable Object directly with no index hop; the random part makes ids unguessable.
// Tokens are kept only as SHA-256 hashes: a watch belongs to the hash of the token that made it.

import { fromBase64Url, toBase64Url } from "./base64url";
import { fnv1a } from "./hash";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
export const ASSET_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export function randomId(length = 20): string {
	const bytes = crypto.getRandomValues(new Uint8Array(length));
	let out = "";
	for (const b of bytes) out += ALPHABET[b & 31];
	return out;
}

export function newWatchId(assetId: string): string {
	return `w_${randomId(20)}_${toBase64Url(assetId)}`;
}

/** The asset a watch id belongs to, or null when the id is not one of ours. */
export function assetOfWatchId(watchId: string): string | null {
	const m = /^w_[a-z2-7]{20}_([A-Za-z0-9_-]{2,200})$/.exec(watchId);
	if (!m?.[1]) return null;
	const assetId = fromBase64Url(m[1]);
	return assetId !== null && ASSET_ID_PATTERN.test(assetId) ? assetId : null;
}

/**
 * A watch's webhook-id for its event: one message per watch, so it follows from the watch's id
 * (its random part, and a tag of the event type), and an event built again after a crash carries
 * the one its first attempt was sent with.
 */
export function webhookIdFor(watchId: string, type: string): string {
	const random = /^w_([a-z2-7]{20})_/.exec(watchId)?.[1] ?? watchId.replace(/[^a-z2-7]/g, "").slice(0, 20);
	let h = fnv1a(`${watchId}:${type}`);
	let tag = "";
	for (let i = 0; i < 4; i++, h >>>= 5) tag += ALPHABET[h & 31];
	return `msg_${random}${tag}`;
}

export async function hashToken(token: string): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
	return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Whether two strings of equal length are equal, in time that depends on their length only (no
 * early exit). For comparing digests, which are already fixed-length and uniformly spread: hashing
 * them again, as a general-purpose comparison must, would buy nothing.
 */
export function constantTimeEqual(a: string, b: string): boolean {
	let diff = a.length ^ b.length;
	const n = Math.max(a.length, b.length);
	for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
	return diff === 0;
}
