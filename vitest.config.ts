// Three projects: "worker" runs inside workerd (unit, Durable Object and HTTP tests);
// "e2e" runs in Node and drives the worker under miniflare over real loopback HTTP;
// "browser" does the same with a real Chromium driving the dashboard.
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_SECRETS } from "./test/support/secrets.ts";

export default defineConfig({
	test: {
		// Copies the API reference bundle into public/ (what wrangler's [build] does for dev and deploy).
		globalSetup: ["./test/global-setup.mjs"],
		projects: [
			{
				plugins: [
					cloudflareTest({
						main: "./src/index.ts",
						wrangler: { configPath: "./wrangler.toml" },
						miniflare: {
							bindings: {
								...TEST_SECRETS,
								CRUN_API_BASE: "https://crun.test",
								ALLOW_PRIVATE_CALLBACKS: "false",
								// Short, so that timeout tests wait a second rather than the production 10-15 s.
								CALLBACK_TIMEOUT_MS: "1000",
								UPSTREAM_TIMEOUT_MS: "1000",
							},
							// Beside wrangler.toml's RATE_LIMITER: a tight one (5 blocks of 10 requests a minute)
							// that rate-limit tests put in its place.
							ratelimits: { RATE_LIMITER_TEST: { namespace_id: "1005", simple: { limit: 5, period: 60 } } },
						},
					}),
				],
				test: {
					name: "worker",
					include: ["test/**/*.test.ts"],
					exclude: ["test/e2e/**", "test/node/**", "test/browser/**"],
					deps: {
						optimizer: {
							// hono/route reads the router's match through a symbol of hono's core: the two
							// must come from one pre-bundled copy.
							ssr: {
								enabled: true,
								include: ["hono", "hono/route", "zod", "@hono/zod-openapi", "standardwebhooks"],
							},
						},
					},
				},
			},
			{
				test: {
					name: "e2e",
					include: ["test/e2e/**/*.test.ts", "test/node/**/*.test.ts"],
					environment: "node",
					testTimeout: 120_000,
					hookTimeout: 120_000,
				},
			},
			{
				test: {
					name: "browser",
					include: ["test/browser/**/*.test.ts"],
					environment: "node",
					testTimeout: 60_000,
					hookTimeout: 120_000,
				},
			},
		],
	},
});
