// `npm run secrets`: fresh values for every secret (README "Configuration"), made from node:crypto and
// nowhere else. Prints them as .dev.vars lines (CRUN_API_KEY is the operator's own: only a
// placeholder); with `--out FILE` writes them instead to a JSON file in the form
// `wrangler secret bulk FILE` and `wrangler deploy --secrets-file FILE` read, created with mode 0600
// and never over an existing file. Nothing is sent anywhere and nothing else is written.
import { randomBytes } from "node:crypto";
import { closeSync, constants, fchmodSync, openSync, writeSync } from "node:fs";
import { parseArgs } from "node:util";

const USAGE = `Usage: npm run secrets [-- --clients app,ops] [-- --out FILE]

Prints fresh values for API_TOKENS (one "client:token" entry per client), WEBHOOK_SECRET and
CLIENT_WEBHOOK_SECRETS (one signing secret per client), as lines for .dev.vars.

  --clients a,b   the client names (letters, digits, . _ -); default: app
  --out FILE      write them to FILE as JSON for \`wrangler secret bulk FILE\` instead of printing
                  them (mode 0600; refuses to overwrite; *.secrets.json is gitignored)

CRUN_API_KEY is your own Crun key: this script cannot make one. Set it with
\`wrangler secret put CRUN_API_KEY\` (it prompts, so the key lands in no file or shell history).`;

const CLIENT_NAME = /^[A-Za-z0-9._-]{1,64}$/;

function fail(message, code = 2) {
	console.error(`secrets: ${message}`);
	process.exit(code);
}

let args;
try {
	args = parseArgs({
		options: {
			clients: { type: "string", default: "app" },
			out: { type: "string" },
			help: { type: "boolean", short: "h", default: false },
		},
		strict: true,
	}).values;
} catch (err) {
	fail(`${err.message}\n\n${USAGE}`);
}
if (args.help) {
	console.log(USAGE);
	process.exit(0);
}

const clients = args.clients
	.split(",")
	.map((c) => c.trim())
	.filter(Boolean);
if (clients.length === 0) fail("--clients needs at least one name");
for (const c of clients)
	if (!CLIENT_NAME.test(c)) fail(`client name ${JSON.stringify(c)}: use letters, digits, . _ -`);
if (new Set(clients).size !== clients.length) fail("client names must be distinct");

// 32 random bytes each: 256 bits, far past guessing. Tokens are base64url (RFC 6750 b64token, no
// "," or ":" that API_TOKENS uses as separators) with a prefix that secret scanners can spot.
const token = () => `saw_${randomBytes(32).toString("base64url")}`;
// Standard Webhooks: "whsec_" and the base64 of the key (24-64 bytes; 32 here).
const webhookSecret = () => `whsec_${randomBytes(32).toString("base64")}`;

const secrets = {
	API_TOKENS: clients.map((c) => `${c}:${token()}`).join(","),
	WEBHOOK_SECRET: webhookSecret(),
	CLIENT_WEBHOOK_SECRETS: JSON.stringify(Object.fromEntries(clients.map((c) => [c, webhookSecret()]))),
};

if (args.out === undefined) {
	console.log(`# Fresh secrets for seedance-asset-watcher, made ${new Date().toISOString()}. Each client gets
# its bearer token (API_TOKENS, after the "name:") and its webhook secret (CLIENT_WEBHOOK_SECRETS);
# WEBHOOK_SECRET signs for clients not named there. Locally: paste into .dev.vars. On Cloudflare:
# \`npm run secrets -- --out .secrets.json\`, then \`wrangler secret bulk .secrets.json\`.
# CRUN_API_KEY is your own Crun key (this script cannot make one): wrangler secret put CRUN_API_KEY
# CRUN_API_KEY=<your Crun API key>
API_TOKENS=${secrets.API_TOKENS}
WEBHOOK_SECRET=${secrets.WEBHOOK_SECRET}
CLIENT_WEBHOOK_SECRETS='${secrets.CLIENT_WEBHOOK_SECRETS}'`);
	process.exit(0);
}

let fd;
try {
	// O_EXCL: never over an existing file, whatever races with us; 0600: the owner alone reads it.
	fd = openSync(args.out, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
} catch (err) {
	if (err.code === "EEXIST")
		fail(
			`${args.out} exists; refusing to overwrite it (delete it first if you mean to replace its secrets)`,
			1,
		);
	fail(`cannot create ${args.out}: ${err.message}`, 1);
}
try {
	fchmodSync(fd, 0o600);
	writeSync(fd, `${JSON.stringify(secrets, null, 2)}\n`);
} finally {
	closeSync(fd);
}
console.log(`Wrote ${Object.keys(secrets).join(", ")} to ${args.out} (mode 0600) for clients ${clients.join(", ")}.
Next:
  npx wrangler secret bulk ${args.out}        # add --env staging for the staging Worker
  npx wrangler secret put CRUN_API_KEY        # your own Crun key; it prompts
Hand each client its token (API_TOKENS, after "name:") and its secret (CLIENT_WEBHOOK_SECRETS)
from the file over a private channel, then delete the file.`);
