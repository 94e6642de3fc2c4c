// Helpers for the poll engine's tests inside workerd: an asset's status as the API shows it, its
// upstream calls, its stored row, assets that finish (to teach the model) or start (to read the
// gap their plan puts after the first check), and a way to break a deployment-wide object's
// method for one test (the objects share the tests' isolate).

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, expect, vi } from "vitest";
import { call, type Fakes, json, unique, type VirtualClock } from "./fakes";
import { step, stubOf } from "./steps";

export type Status = {
	status: string;
	checks: number;
	checked_at: string | null;
	next_check_at: string | null;
	last_error: string | null;
};

export const statusOf = async (asset: string) => json<Status>(await call("GET", `/v1/assets/${asset}`));

export async function registerWatch(asset: string): Promise<void> {
	const res = await call("POST", "/v1/watches", {
		body: { asset_id: asset, callback_url: `https://receiver.example/${asset}` },
	});
	expect(res.status).toBe(201);
}

export const assetRow = (asset: string) =>
	runInDurableObject(stubOf(asset), (_o, s) =>
		s.storage.sql
			.exec<{ checks: number; next_check_at: number | null; index_pending: number }>(
				"SELECT * FROM records WHERE id = ''",
			)
			.one(),
	);

/** The world's engine helpers. */
export function engineHelpers(world: { readonly fakes: Fakes; readonly vclock: VirtualClock }) {
	const callTimes = (asset: string) =>
		world.fakes.upstreamCalls.filter((c) => c.assetId === asset).map((c) => c.at);
	const gaps = (asset: string) => {
		const t = callTimes(asset);
		return t.slice(1).map((x, i) => x - (t[i] as number));
	};

	/**
	 * An asset whose first check finds it already finished, `ms` after its CreateTime. Each comes
	 * 100 ms after the last (the virtual clock does not move by itself, and the upstream budget
	 * paces first checks made at one instant, as it should, at UPSTREAM_MAX_RPS).
	 */
	async function finish(type: string, ms: number): Promise<void> {
		world.vclock.advance(100);
		const asset = unique("done");
		const created = world.vclock.t - ms - 1000;
		world.fakes.script(asset, {
			status: "Active",
			data: {
				AssetType: type,
				CreateTime: new Date(created).toISOString(),
				UpdateTime: new Date(created + ms).toISOString(),
			},
		});
		await registerWatch(asset);
		await step(world.vclock, asset);
	}

	/** A new asset of `type`, created a second ago: the gap its plan puts after its first check. */
	async function firstGap(type: string): Promise<number> {
		world.vclock.advance(100);
		const asset = unique("fresh");
		world.fakes.script(asset, {
			status: "Processing",
			data: { AssetType: type, CreateTime: new Date(world.vclock.t - 1000).toISOString() },
		});
		await registerWatch(asset);
		await step(world.vclock, asset);
		const s = await statusOf(asset);
		return Date.parse(s.next_check_at as string) - Date.parse(s.checked_at as string);
	}

	return { callTimes, gaps, finish, firstGap };
}

type Method = (...args: unknown[]) => unknown;
const restores: (() => void)[] = [];

/** Replaces a method of the class behind `ns` for the current test only. */
export async function patchMethod(
	ns: DurableObjectNamespace,
	method: string,
	f: (original: Method) => Method,
): Promise<void> {
	const proto = await runInDurableObject(ns.getByName("global"), (o) => Object.getPrototypeOf(o));
	const original = proto[method];
	proto[method] = f(original);
	restores.push(() => {
		proto[method] = original;
	});
}

/**
 * Makes every call of `method` on the deployment-wide object behind `binding` fail with `message`,
 * as an object that cannot be reached does. It fails on the caller's side (the stub the callers
 * get): a method that threw inside the object would be reported by the runtime as the object's
 * uncaught exception on every call.
 */
export function refuseCalls(
	binding: "POLL_MODEL" | "UPSTREAM_BUDGET",
	method: string,
	message: string,
): void {
	const ns = env[binding] as unknown as DurableObjectNamespace;
	const real = ns.getByName.bind(ns);
	const spy = vi.spyOn(ns, "getByName").mockImplementation((name: string) => {
		const stub = real(name);
		return new Proxy(stub, {
			get(target, key) {
				if (key !== method) return Reflect.get(target, key);
				return async () => {
					throw new Error(message);
				};
			},
		});
	});
	restores.push(() => spy.mockRestore());
}

/** Undoes every patchMethod and refuseCalls after each test of the file that calls it. */
export function restorePatches(): void {
	afterEach(() => {
		for (const r of restores.splice(0)) r();
	});
}
