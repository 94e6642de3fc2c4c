// The one Node API the service uses (workerd provides it under nodejs_compat; the Workers types
// do not declare Node's modules): AsyncLocalStorage, for the bench's per-request count of object
// calls (src/core/object-calls.ts).
declare module "node:async_hooks" {
	export class AsyncLocalStorage<T> {
		getStore(): T | undefined;
		run<R>(store: T, callback: () => R): R;
	}
}
