// Reading the upstream's answers: envelopes, both time formats, error codes in either place,
// and bodies that are not JSON at all. Nothing may throw.
import { describe, expect, it } from "vitest";
import { parseRetryAfter } from "../../src/core/retry-after";
import { classifyAnswer, normalizeTime } from "../../src/crun/classify";

const NOW = Date.parse("2026-11-28T17:00:00Z");
const h = (o: Record<string, string> = {}) => new Headers(o);
const env = (code: number, data: unknown, message = "success") => JSON.stringify({ code, message, data });
const asset = (Status: string, extra: Record<string, unknown> = {}) => ({
	AssetId: "a-1",
	Name: "clip",
	AssetType: "Video",
	Status,
	CreateTime: "2026-11-28T10:00:00Z",
	UpdateTime: 1795860000,
	...extra,
});

describe("normalizeTime", () => {
	it("accepts ISO strings, Unix seconds as numbers and strings, and milliseconds", () => {
		expect(normalizeTime("2026-11-28T10:00:00Z")).toBe("2026-11-28T10:00:00.000Z");
		expect(normalizeTime(1795860000)).toBe("2026-11-28T10:00:00.000Z");
		expect(normalizeTime("1795860000")).toBe("2026-11-28T10:00:00.000Z");
		expect(normalizeTime(1795860000000)).toBe("2026-11-28T10:00:00.000Z");
	});
	it("returns null for anything else", () => {
		for (const v of [null, undefined, "", "yesterday", {}, [], true, Number.NaN])
			expect(normalizeTime(v)).toBeNull();
	});
});

describe("classifyAnswer", () => {
	it("reads a success envelope and keeps the raw data", () => {
		const out = classifyAnswer(200, h(), env(200, asset("Failed", { ErrorMessage: "bad codec" })), NOW);
		expect(out).toMatchObject({
			kind: "ok",
			asset: {
				status: "Failed",
				name: "clip",
				assetType: "Video",
				createTime: "2026-11-28T10:00:00.000Z",
				updateTime: "2026-11-28T10:00:00.000Z",
				message: "success",
			},
		});
		if (out.kind === "ok") expect(out.asset.data.ErrorMessage).toBe("bad codec");
	});

	it.each([
		[401, "operator"],
		[402, "operator"],
		[404, "not_found"],
		[422, "invalid"],
		[429, "rate_limited"],
		[455, "maintenance"],
		[500, "transient"],
		[501, "transient"],
		[505, "transient"],
	])("code %i as the HTTP status, as the body code under 200, or both → %s", (code, kind) => {
		expect(classifyAnswer(code, h(), env(code, null, "nope"), NOW).kind).toBe(kind);
		expect(classifyAnswer(200, h(), env(code, null, "nope"), NOW).kind).toBe(kind);
		expect(classifyAnswer(code, h(), "", NOW).kind).toBe(kind);
	});

	it("an error in either place wins over a success in the other", () => {
		expect(classifyAnswer(500, h(), env(200, asset("Active")), NOW).kind).toBe("transient");
		expect(classifyAnswer(200, h(), env(404, null), NOW).kind).toBe("not_found");
		// Both errors: the body's code is the specific one.
		expect(classifyAnswer(500, h(), env(422, null), NOW).kind).toBe("invalid");
	});

	it("HTML, truncated JSON, the wrong shape and empty bodies are transient", () => {
		const bodies = [
			"<html><body>502 Bad Gateway</body></html>",
			env(200, asset("Active")).slice(0, 40),
			JSON.stringify([1, 2, 3]),
			JSON.stringify({ hello: "world" }),
			env(200, { Name: "no status" }),
			env(200, "a string"),
			"",
			"null",
		];
		for (const b of bodies) expect(classifyAnswer(200, h(), b, NOW).kind).toBe("transient");
	});

	it("reads Retry-After as seconds or an HTTP-date", () => {
		expect(classifyAnswer(429, h({ "retry-after": "30" }), "", NOW)).toMatchObject({ retryAfterMs: 30_000 });
		expect(
			classifyAnswer(429, h({ "retry-after": new Date(NOW + 90_000).toUTCString() }), "", NOW),
		).toMatchObject({
			retryAfterMs: 90_000,
		});
		expect(classifyAnswer(429, h({ "retry-after": "soon" }), "", NOW)).toMatchObject({ retryAfterMs: null });
	});
});

describe("parseRetryAfter", () => {
	it("never returns a negative wait", () => {
		expect(parseRetryAfter(new Date(NOW - 60_000).toUTCString(), NOW)).toBe(0);
		expect(parseRetryAfter(null, NOW)).toBeNull();
	});
});
