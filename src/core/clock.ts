// The service's one source of "now" and of randomness for jitter.
// Production reads the real clock; tests replace both (the Durable Objects run in the same
// isolate as the tests) to step through hours of schedule without waiting for them.

export const clock = {
	now: (): number => Date.now(),
	random: (): number => Math.random(),
};
