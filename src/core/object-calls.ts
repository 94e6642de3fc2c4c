// Counts calls into Durable Objects, for the bench only (BENCH_COUNT_OBJECT_CALLS = "true"): the
// object namespaces of an env are wrapped so that every RPC on a stub they hand out is counted,
// per request of the worker (what it called while answering) and in total for the isolate (calls
// the objects make themselves and their alarm runs included). Unset, nothing is wrapped and a
// request pays one property read: production never counts.

import { AsyncLocalStorage } from "node:async_hooks";

const NAMESPACES = ["ASSET_WATCHER", "WATCH_INDEX"] as const;

/** Every counted call in this isolate (the worker and the objects share it under the local runtime). */
export const objectCalls = { total: 0 };

const perRequest = new AsyncLocalStorage<{ calls: number }>();
const wrapped = new WeakMap<object, Env>();

export function countingObjectCalls(env: unknown): boolean {
	return (env as { BENCH_COUNT_OBJECT_CALLS?: string }).BENCH_COUNT_OBJECT_CALLS === "true";
}

/** One call into an object: an RPC on a stub, or an alarm run. */
export function noteObjectCall(): void {
	objectCalls.total++;
	const current = perRequest.getStore();
	if (current) current.calls++;
}

function countedStub<T extends object>(stub: T): T {
	return new Proxy(stub, {
		get(target, prop) {
			const value = Reflect.get(target, prop);
			if (typeof value !== "function" || typeof prop === "symbol" || prop === "then") return value;
			// Reflect.apply: on an RPC stub, `.apply` would itself be taken for a remote method.
			return (...args: unknown[]) => {
				noteObjectCall();
				return Reflect.apply(value, target, args);
			};
		},
	});
}

function countedNamespace<T extends object>(ns: T): T {
	return new Proxy(ns, {
		get(target, prop) {
			const value = Reflect.get(target, prop);
			if (typeof value !== "function") return value;
			const call = (...args: unknown[]) => Reflect.apply(value, target, args);
			return prop === "get" || prop === "getByName"
				? (...args: unknown[]) => countedStub(call(...args) as object)
				: call;
		},
	});
}

/** `env` with its object namespaces counted (the same object for the same env, so its config is parsed once). */
export function countedEnv(env: Env): Env {
	let counted = wrapped.get(env);
	if (!counted) {
		counted = { ...env };
		for (const name of NAMESPACES) {
			const ns = env[name] as unknown as object | undefined;
			if (ns) (counted as unknown as Record<string, unknown>)[name] = countedNamespace(ns);
		}
		wrapped.set(env, counted);
	}
	return counted;
}

/** Runs `handle` counting the object calls made under it; returns them with its result. */
export async function countCalls<T>(handle: () => Promise<T>): Promise<{ result: T; calls: number }> {
	const counter = { calls: 0 };
	const result = await perRequest.run(counter, handle);
	return { result, calls: counter.calls };
}
