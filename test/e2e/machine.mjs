// What the Node side of the end-to-end tests needs from the machine — child processes, free
// loopback ports, a recording HTTP receiver, temporary folders and file modes — behind a few
// functions typed in machine.d.mts, so the TypeScript tests stay free of Node typings (the project
// type-checks against the Workers types only), as harness.mjs does for the runtime.
import { execFile, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const NODE = process.execPath;
/** This process's PATH, to put something in front of it. */
export const PATH = process.env.PATH ?? "";

/** Runs a command to its end; never throws for a non-zero exit. */
export function runProcess(command, args, { cwd, env, timeoutMs = 120_000 } = {}) {
	return new Promise((resolve, reject) => {
		execFile(
			command,
			args,
			{
				cwd,
				env: env ? { ...process.env, ...env } : process.env,
				timeout: timeoutMs,
				maxBuffer: 64 * 1024 * 1024,
			},
			(err, stdout, stderr) => {
				if (err && typeof err.code !== "number") return reject(err);
				resolve({ code: err ? err.code : 0, stdout: String(stdout), stderr: String(stderr) });
			},
		);
	});
}

/** Starts a long-running command in a process group of its own, collecting what it prints. */
export function startProcess(command, args, { cwd, env } = {}) {
	let stdout = "";
	let stderr = "";
	const child = spawn(command, args, {
		cwd,
		env: env ? { ...process.env, ...env } : process.env,
		detached: true,
		stdio: ["ignore", "pipe", "pipe"],
	});
	child.stdout.setEncoding("utf8").on("data", (d) => {
		stdout += d;
	});
	child.stderr.setEncoding("utf8").on("data", (d) => {
		stderr += d;
	});
	const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
	const killGroup = (signal) => {
		try {
			process.kill(-child.pid, signal);
		} catch {}
	};
	return {
		pid: child.pid,
		stdout: () => stdout,
		stderr: () => stderr,
		exitCode: () => child.exitCode,
		exited,
		/** SIGTERM to the process, then whatever is left of its group is killed; resolves with its exit code. */
		async stop(timeoutMs = 15_000) {
			if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
			const code = await Promise.race([
				exited,
				new Promise((r) => setTimeout(() => r("timeout"), timeoutMs)),
			]);
			killGroup("SIGKILL");
			return code;
		},
	};
}

/** Free loopback ports, found by binding port 0 and letting go. */
export async function freePorts(count) {
	const servers = await Promise.all(
		Array.from(
			{ length: count },
			() =>
				new Promise((resolve, reject) => {
					const s = createServer();
					s.once("error", reject);
					s.listen(0, "127.0.0.1", () => resolve(s));
				}),
		),
	);
	const ports = servers.map((s) => s.address().port);
	await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
	return ports;
}

/** An HTTP server on 127.0.0.1 that answers 204 and records every request. */
export async function startRecorder() {
	const requests = [];
	const server = createServer((req, res) => {
		let body = "";
		req.setEncoding("utf8");
		req.on("data", (d) => {
			body += d;
		});
		req.on("end", () => {
			requests.push({ method: req.method, path: req.url, headers: { ...req.headers }, body });
			res.writeHead(204).end();
		});
	});
	await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
	const port = server.address().port;
	return {
		url: `http://127.0.0.1:${port}`,
		requests: () => [...requests],
		close: () => new Promise((resolve) => server.close(resolve)),
	};
}

export function tempDir(prefix = "seedance-") {
	return mkdtempSync(join(tmpdir(), prefix));
}

export function makeDir(path) {
	mkdirSync(path, { recursive: true });
}

export function removeDir(path) {
	rmSync(path, { recursive: true, force: true });
}

export function readText(path) {
	return readFileSync(path, "utf8");
}

export function writeText(path, text) {
	writeFileSync(path, text);
}

/** Writes a script the owner may run (mode 0755). */
export function writeExecutable(path, text) {
	writeFileSync(path, text);
	chmodSync(path, 0o755);
}

/** The permission bits of a file (e.g. 0o600). */
export function fileMode(path) {
	return statSync(path).mode & 0o777;
}
