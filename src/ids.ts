// Identifiers. A watch id carries its asset id (base64url), so `GET /v1/watches/:id` reaches
// the asset's Durable Object directly with no index hop; the random part makes ids unguessable.
// Tokens are kept only as SHA-256 hashes: a watch belongs to the hash of the token that made it.

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
export const ASSET_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export function randomId(length = 20): string {
	const bytes = crypto.getRandomValues(new Uint8Array(length));
	let out = "";
	for (const b of bytes) out += ALPHABET[b & 31];
	return out;
}

function toBase64Url(text: string): string {
	const bytes = new TextEncoder().encode(text);
	let bin = "";
	for (const b of bytes) bin += String.fromCharCode(b);
	return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): string | null {
	if (!/^[A-Za-z0-9_-]+$/.test(text)) return null;
	try {
		const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
		const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
		return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
	} catch {
		return null;
	}
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

export const newWebhookId = () => `msg_${randomId(24)}`;

export async function hashToken(token: string): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
	return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
