// The list order of the index (created_at, then id) and its opaque cursor: a position in that
// order, base64url-encoded JSON. Each shard pages in the same order, so merging pages is exact.

import { fromBase64Url, toBase64Url } from "../core/base64url";

/** A position in the list order (created_at, then id). */
export type ListPosition = { created_at: number; id: string };

export function encodeCursor(p: ListPosition): string {
	return toBase64Url(JSON.stringify([p.created_at, p.id]));
}

/** The position a cursor names, or null when it is not one this service made. */
export function decodeCursor(cursor: string): ListPosition | null {
	if (cursor.length > 600) return null;
	const text = fromBase64Url(cursor);
	if (text === null) return null;
	try {
		const value: unknown = JSON.parse(text);
		if (!Array.isArray(value) || value.length !== 2) return null;
		const [createdAt, id] = value;
		if (!Number.isSafeInteger(createdAt) || typeof id !== "string" || id.length === 0 || id.length > 400)
			return null;
		return { created_at: createdAt, id };
	} catch {
		return null;
	}
}

/** Orders list items the way every shard does: created_at, then id. */
export function compareListPosition(a: ListPosition, b: ListPosition): number {
	if (a.created_at !== b.created_at) return a.created_at - b.created_at;
	return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
