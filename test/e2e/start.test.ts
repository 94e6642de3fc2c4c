// `npm start` as a newcomer runs it (scripts/start.mjs, on free ports): the banner says what the
// demo relaxes and prints the webhook secret; a receiver of one's own on this machine, verifying
// with that secret, gets a verified callback; the demo's own curl ends in a verified callback; and
// callback URLs off this machine are refused (ALLOW_PRIVATE_CALLBACKS=loopback). A WEBHOOK_SECRET
// from the environment is used as given, and a malformed one stops the demo before it starts.
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUIET_ENV, ROOT } from "./harness.mjs";
import {
	freePorts,
	NODE,
	type Recorder,
	type StartedProcess,
	startProcess,
	startRecorder,
} from "./machine.mjs";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Demo = StartedProcess & { base: string };

async function startDemo(env: Record<string, string> = {}): Promise<Demo> {
	const [port, simPort, receiverPort] = (await freePorts(3)) as [number, number, number];
	const proc = startProcess(NODE, ["scripts/start.mjs"], {
		cwd: ROOT,
		env: {
			...QUIET_ENV,
			WEBHOOK_SECRET: "",
			PORT: String(port),
			SIM_PORT: String(simPort),
			RECEIVER_PORT: String(receiverPort),
			...env,
		},
	});
	return Object.assign(proc, { base: `http://127.0.0.1:${port}` });
}

async function untilOutput(demo: Demo, pattern: RegExp, timeoutMs = 90_000): Promise<RegExpMatchArray> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const m = demo.stdout().match(pattern);
		if (m) return m;
		if (demo.exitCode() !== null || Date.now() > deadline)
			throw new Error(`no ${pattern} in the output.\nstdout:\n${demo.stdout()}\nstderr:\n${demo.stderr()}`);
		await sleep(100);
	}
}

const READY = /Ctrl-C stops everything\.\s*$/;

function register(demo: Demo, assetId: string, callbackUrl: string): Promise<Response> {
	return fetch(`${demo.base}/v1/watches`, {
		method: "POST",
		headers: { authorization: "Bearer demo-token", "content-type": "application/json" },
		body: JSON.stringify({ asset_id: assetId, callback_url: callbackUrl }),
	});
}

describe("npm start", () => {
	let demo: Demo;
	let receiver: Recorder;

	beforeAll(async () => {
		receiver = await startRecorder();
		demo = await startDemo();
		await untilOutput(demo, READY);
	});

	afterAll(async () => {
		// Ctrl-C (SIGTERM here) stops it cleanly, workerd included.
		if (demo) expect(await demo.stop()).toBe(0);
		await receiver?.close();
	});

	it("says what the demo relaxes, and prints this run's webhook secret", () => {
		const banner = demo.stdout();
		expect(banner).toContain("What this demo relaxes");
		expect(banner).toContain("ALLOW_PRIVATE_CALLBACKS=loopback");
		expect(banner).toMatch(/only to this machine/);
		expect(banner).toMatch(/webhook secret: whsec_[A-Za-z0-9+/]+={0,2} +\(made up for this run/);
		expect(banner).toContain("bearer token: demo-token");
	});

	it("a receiver of one's own on this machine verifies its callback with the printed secret", async () => {
		const secret = demo.stdout().match(/webhook secret: (whsec_\S+)/)?.[1] as string;
		const res = await register(demo, "own-receiver-1", `${receiver.url}/hooks`);
		expect(res.status).toBe(201);
		const deadline = Date.now() + 30_000;
		while (receiver.requests().length === 0 && Date.now() < deadline) await sleep(100);
		const first = receiver.requests()[0];
		expect(first?.path).toBe("/hooks");
		const event = new Webhook(secret).verify(
			first?.body as string,
			first?.headers as Record<string, string>,
		) as {
			type: string;
			data: { asset_id: string };
		};
		expect(event.type).toBe("asset.active");
		expect(event.data.asset_id).toBe("own-receiver-1");
	});

	it("the printed curl ends in a verified callback at the demo receiver", async () => {
		const curl = demo.stdout().match(/curl -s -X POST (\S+) .* -d '([^']+)'/);
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

	it("serves /docs and the API reference's scripts itself (wrangler dev runs the assets build)", async () => {
		const page = await fetch(`${demo.base}/docs`);
		expect(page.status).toBe(200);
		const html = await page.text();
		const scripts = [...html.matchAll(/<script src="([^"]+)"><\/script>/g)].map((m) => m[1] as string);
		expect(scripts).toContain("/docs/api-reference.js");
		for (const src of scripts) {
			const js = await fetch(`${demo.base}${src}`);
			expect(js.status, src).toBe(200);
			expect(js.headers.get("content-type"), src).toMatch(/^(text|application)\/javascript\b/);
			await js.arrayBuffer();
		}
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
		const secret = `whsec_${btoa("a fixed secret for this test only!")}`;
		const demo = await startDemo({ WEBHOOK_SECRET: secret });
		try {
			await untilOutput(demo, READY);
			expect(demo.stdout()).toContain(`webhook secret: ${secret}  (from WEBHOOK_SECRET in the environment)`);
		} finally {
			expect(await demo.stop()).toBe(0);
		}
	});

	it("refuses a malformed one before starting anything, without echoing it", async () => {
		const demo = await startDemo({ WEBHOOK_SECRET: "whsec_not base64!!" });
		expect(await demo.exited).toBe(1);
		expect(demo.stderr()).toContain("WEBHOOK_SECRET");
		expect(demo.stderr() + demo.stdout()).not.toContain("not base64!!");
	});
});
