// The dashboard's session: a cookie that names the owner hash of the token that signed in, signed
// with HMAC-SHA256 under a key derived from that token (HKDF over its SHA-256, salted with the
// optional DASHBOARD_SESSION_SECRET). No raw token is ever in it. A session verifies only while its
// token is in API_TOKENS (no key otherwise), until it expires, and until the secret is rotated.
// Each session carries a random nonce that its per-session CSRF token is derived from.

import { timingSafeEqual } from "hono/utils/buffer";
import type { Config } from "../core/config";
import { hashToken } from "../core/ids";
import { credentialOf, matchToken } from "../http/auth";

/** How long a session lasts: an operator's working day, through an incident. */
export const SESSION_TTL_S = 12 * 3600;
const HKDF_INFO = new TextEncoder().encode("seedance-asset-watcher dashboard session v1");
const enc = new TextEncoder();

export interface Session {
	/** SHA-256 (hex) of the owner key: whose watches the page shows, as on /v1 */
	owner: string;
	/** what the page calls the signed-in caller: `client <name>` or a prefix of the owner hash */
	label: string;
	expiresAt: number;
	/** the per-session token every state-changing form must carry */
	csrf: string;
}

type TokenKey = { tid: string; owner: string; label: string; key: CryptoKey };

function b64url(bytes: ArrayBuffer | Uint8Array): string {
	let bin = "";
	for (const b of new Uint8Array(bytes)) bin += String.fromCharCode(b);
	return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function hexBytes(hex: string): Uint8Array {
	return Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
}

const hmac = async (key: CryptoKey, text: string) =>
	b64url(await crypto.subtle.sign("HMAC", key, enc.encode(text)));

function labelOf(ownerKey: string, owner: string): string {
	// A bare token is its own owner key: only a prefix of its hash may be shown.
	return ownerKey.startsWith("client:") ? `client ${ownerKey.slice(7)}` : `token ${owner.slice(0, 8)}…`;
}

/** The session key of one token, and a keyed id (`tid`) that names it in the cookie. */
async function tokenKey(token: string, ownerKey: string, secret: string | undefined): Promise<TokenKey> {
	const ikm = await crypto.subtle.importKey("raw", hexBytes(await hashToken(token)), "HKDF", false, [
		"deriveKey",
	]);
	const key = await crypto.subtle.deriveKey(
		{ name: "HKDF", hash: "SHA-256", salt: enc.encode(secret ?? ""), info: HKDF_INFO },
		ikm,
		{ name: "HMAC", hash: "SHA-256", length: 256 },
		false,
		["sign", "verify"],
	);
	const tid = (await hmac(key, "token-id")).slice(0, 16);
	const owner = await hashToken(ownerKey);
	return { tid, owner, label: labelOf(ownerKey, owner), key };
}

/** Every configured token's session key by tid, worked out once per configuration. */
const keysByConfig = new WeakMap<Config, Promise<Map<string, TokenKey>>>();

function configuredKeys(config: Config): Promise<Map<string, TokenKey>> {
	let keys = keysByConfig.get(config);
	if (!keys) {
		keys = Promise.all(
			config.API_TOKENS.map((entry) => {
				const { token, ownerKey } = credentialOf(entry);
				return tokenKey(token, ownerKey, config.DASHBOARD_SESSION_SECRET);
			}),
		).then((list) => new Map(list.map((k) => [k.tid, k])));
		keysByConfig.set(config, keys);
	}
	return keys;
}

const payload = (tid: string, owner: string, exp: number, nonce: string) =>
	`v1.${tid}.${owner}.${exp}.${nonce}`;

const csrfOf = (key: CryptoKey, nonce: string) => hmac(key, `csrf.${nonce}`);

/**
 * Signs in with a presented token: the cookie value of a new session, or null when the token is not
 * accepted. The token is checked with the API's own constant-time matcher.
 */
export async function startSession(
	config: Config,
	presented: string,
	now: number,
): Promise<{ cookie: string; session: Session } | null> {
	const ownerKey = await matchToken(presented, config.API_TOKENS);
	if (ownerKey === null) return null;
	const { tid, owner, label, key } = await tokenKey(presented, ownerKey, config.DASHBOARD_SESSION_SECRET);
	const exp = Math.floor(now / 1000) + SESSION_TTL_S;
	const nonce = b64url(crypto.getRandomValues(new Uint8Array(16)));
	const body = payload(tid, owner, exp, nonce);
	return {
		cookie: `${body}.${await hmac(key, body)}`,
		session: { owner, label, expiresAt: exp * 1000, csrf: await csrfOf(key, nonce) },
	};
}

const COOKIE_RE =
	/^v1\.([A-Za-z0-9_-]{16})\.([0-9a-f]{64})\.(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/** The session a cookie value holds, or null: malformed, forged, expired, or its token removed. */
export async function readSession(config: Config, cookie: string, now: number): Promise<Session | null> {
	const m = COOKIE_RE.exec(cookie);
	if (!m) return null;
	const [, tid = "", owner = "", expText = "", nonce = "", sig = ""] = m;
	const entry = (await configuredKeys(config)).get(tid);
	if (!entry) return null;
	const sigBytes = Uint8Array.from(atob(sig.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
	// Only the one encoding of the signature: its last character has two bits that decoding ignores.
	if (b64url(sigBytes) !== sig) return null;
	const body = payload(tid, owner, Number(expText), nonce);
	// verify() compares in constant time.
	if (body !== cookie.slice(0, cookie.lastIndexOf(".")) || Number(expText) * 1000 <= now) return null;
	if (!(await crypto.subtle.verify("HMAC", entry.key, sigBytes, enc.encode(body)))) return null;
	// The entry may have been given to another client since: the session names the owner it signed.
	if (entry.owner !== owner) return null;
	return {
		owner,
		label: entry.label,
		expiresAt: Number(expText) * 1000,
		csrf: await csrfOf(entry.key, nonce),
	};
}

/** Whether a submitted form's CSRF field is this session's, compared in constant time. */
export async function csrfMatches(session: Session, submitted: unknown): Promise<boolean> {
	if (typeof submitted !== "string" || submitted.length === 0 || submitted.length > 100) return false;
	return timingSafeEqual(session.csrf, submitted);
}
