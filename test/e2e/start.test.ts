// `npm start` as a newcomer runs it (scripts/start.mjs, on free ports): the banner says what the
// demo relaxes and prints the webhook secret; a receiver of one's own on this machine, verifying
// with that secret, gets a verified callback; the demo's own curl ends in a verified callback; and
// callback URLs off this machine are refused (ALLOW_PRIVATE_CALLBACKS=loopback). A WEBHOOK_SECRET
// from the environment is used as given, and a malformed one stops the demo before it starts.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUIET_ENV, ROOT } from "./harness.mjs";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Free loopback ports, found by binding port 0 and letting go. */
async function freePorts(count: number): Promise<number[]> {
	const servers = await Promise.all(
		Array.from(
			{ length: count },
			() =>
				new Promise<Server>((resolve) => {
					const s = createServer();
					s.listen(0, "127.0.0.1", () => resolve(s));
				}),
		),
	);
	const ports = servers.map((s) => (s.address() as AddressInfo).port);
	await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
	return ports;
}

type Demo = {
	proc: ChildProcess;
	out: () => string;
	err: () => string;
	base: string;
	exited: Promise<number | null>;
};

async function startDemo(env: Record<string, string> = {}): Promise<Demo> {
	const [port, simPort, receiverPort] = (await freePorts(3)) as [number, number, number];
	let out = "";
	let err = "";
	const proc = spawn(process.execPath, ["scripts/start.mjs"], {
		cwd: ROOT,
		// Its own process group, so that nothing it started can outlive the test.
		detached: true,
		env: {
			...process.env,
			...QUIET_ENV,
			WEBHOOK_SECRET: "",
			PORT: String(port),
			SIM_PORT: String(simPort),
			RECEIVER_PORT: String(receiverPort),
			...env,
		},
		stdio: ["ignore", "pipe", "pipe"],
	});
	proc.stdout?.on("data", (d) => {
		out += d;
	});
	proc.stderr?.on("data", (d) => {
		err += d;
	});
	const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
	return { proc, out: () => out, err: () => err, base: `http://127.0.0.1:${port}`, exited };
}

async function untilOutput(demo: Demo, pattern: RegExp, timeoutMs = 90_000): Promise<RegExpMatchArray> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const m = demo.out().match(pattern);
		if (m) return m;
		if (demo.proc.exitCode !== null || Date.now() > deadline)
			throw new Error(`no ${pattern} in the output.\nstdout:\n${demo.out()}\nstderr:\n${demo.err()}`);
		await sleep(100);
	}
}

async function stopDemo(demo: Demo | undefined): Promise<void> {
	if (!demo || demo.proc.exitCode !== null) return;
	demo.proc.kill("SIGTERM");
	const code = await Promise.race([demo.exited, sleep(15_000).then(() => "timeout" as const)]);
	try {
		process.kill(-(demo.proc.pid as number), "SIGKILL");
	} catch {}
	expect(code).toBe(0);
}

function register(demo: Demo, assetId: string, callbackUrl: string): Promise<Response> {
	return fetch(`${demo.base}/v1/watches`, {
		method: "POST",
		headers: { authorization: "Bearer demo-token", "content-type": "application/json" },
		body: JSON.stringify({ asset_id: assetId, callback_url: callbackUrl }),
	});
}

describe("npm start", () => {
	let demo: Demo;
	let receiver: Server;
	const received: { headers: Record<string, string>; body: string }[] = [];

	beforeAll(async () => {
		receiver = createServer((req, res) => {
			let body = "";
			req.on("data", (d) => {
				body += d;
			});
			req.on("end", () => {
				received.push({ headers: req.headers as Record<string, string>, body });
				res.writeHead(204).end();
			});
		});
		await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
		demo = await startDemo();
		await untilOutput(demo, /Ctrl-C stops everything\.\s*$/);
	});

	afterAll(async () => {
		await stopDemo(demo);
		await new Promise((r) => receiver?.close(r));
	});

	it("says what the demo relaxes, and prints this run's webhook secret", () => {
		const banner = demo.out();
		expect(banner).toContain("What this demo relaxes");
		expect(banner).toContain("ALLOW_PRIVATE_CALLBACKS=loopback");
		expect(banner).toMatch(/only to this machine/);
		expect(banner).toMatch(/webhook secret: whsec_[A-Za-z0-9+/]+={0,2} +\(made up for this run/);
		expect(banner).toContain("bearer token: demo-token");
	});

	it("a receiver of one's own on this machine verifies its callback with the printed secret", async () => {
		const secret = demo.out().match(/webhook secret: (whsec_\S+)/)?.[1] as string;
		const port = (receiver.address() as AddressInfo).port;
		const res = await register(demo, "own-receiver-1", `http://127.0.0.1:${port}/hooks`);
		expect(res.status).toBe(201);
		const deadline = Date.now() + 30_000;
		while (received.length === 0 && Date.now() < deadline) await sleep(100);
		expect(received.length).toBeGreaterThan(0);
		const first = received[0] as (typeof received)[number];
		const event = new Webhook(secret).verify(first.body, first.headers) as {
			type: string;
			data: { asset_id: string };
		};
		expect(event.type).toBe("asset.active");
		expect(event.data.asset_id).toBe("own-receiver-1");
	});

	it("the printed curl ends in a verified callback at the demo receiver", async () => {
		const curl = demo.out().match(/curl -s -X POST (\S+) .* -d '([^']+)'/);
		expect(curl).not.toBeNull();
		const [, url, body] = curl as RegExpMatchArray;
		const res = await fetch(url as string, {
			method: "POST",
			headers: { authorization: "Bearer demo-token", "content-type": "application/json" },
			body,
		});
		expect(res.status).toBe(201);
		await untilOutput(demo, /callback received: asset\.active for demo-asset-1 — signature verified/, 30_000);
	});

	it.each(["https://example.com/hooks", "http://10.0.0.1/x", "http://evil.localhost/cb"])(
		"refuses a callback off this machine: %s",
		async (url) => {
			const res = await register(demo, "off-machine-1", url);
			expect(res.status).toBe(400);
			const body = (await res.json()) as { error: { message: string } };
			expect(body.error.message).toContain("not on this machine");
		},
	);
});

describe("npm start with WEBHOOK_SECRET in the environment", () => {
	it("uses it and says where it came from", async () => {
		const secret = `whsec_${Buffer.from("a fixed secret for this test only!").toString("base64")}`;
		const demo = await startDemo({ WEBHOOK_SECRET: secret });
		try {
			await untilOutput(demo, /Ctrl-C stops everything\.\s*$/);
			expect(demo.out()).toContain(`webhook secret: ${secret}  (from WEBHOOK_SECRET in the environment)`);
		} finally {
			await stopDemo(demo);
		}
	});

	it("refuses a malformed one before starting anything, without echoing it", async () => {
		const demo = await startDemo({ WEBHOOK_SECRET: "whsec_not base64!!" });
		expect(await demo.exited).toBe(1);
		expect(demo.err()).toContain("WEBHOOK_SECRET");
		expect(demo.err() + demo.out()).not.toContain("not base64!!");
	});
});
