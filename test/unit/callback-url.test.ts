// Table tests for the callback URL policy (SPEC §3). Every hostile spelling gets its own row so a
// regression names the exact input; each refusal must also say why, since the reason is returned
// to API clients. Runs inside workerd, so the URL normalization relied on is the production one.
import { describe, expect, it } from "vitest";
import {
	checkCallbackUrl,
	MAX_CALLBACK_URL_LENGTH,
	parseIpv4,
	parseIpv6,
} from "../../src/delivery/callback-url";

type Refusal = { label: string; url: string; why: RegExp };
type Acceptance = { label: string; url: string; normalized: string };

// Long inputs would make unreadable test titles, so titles carry a shortened label.
function label(url: string): string {
	if (url === "") return '""';
	return url.length > 80 ? `${url.slice(0, 40)}… (${url.length} chars)` : JSON.stringify(url);
}
function refused(url: string, why: RegExp): Refusal {
	return { label: label(url), url, why };
}
function accepted(url: string, normalized = url): Acceptance {
	return { label: label(url), url, normalized };
}

const BASE = "https://example.com/";
const exactlyMax = BASE + "a".repeat(MAX_CALLBACK_URL_LENGTH - BASE.length);
const oneOver = BASE + "a".repeat(MAX_CALLBACK_URL_LENGTH - BASE.length + 1);
// Short enough raw, but every space becomes "%20" in the normalized href that would be stored
// (the trailing "x" keeps the parser from trimming them as trailing whitespace).
const growsPastMax = `${BASE + " ".repeat(1000)}x`;

const DEFAULT = { allowPrivate: false };
const PRIVATE_OK = { allowPrivate: true };
const LOOPBACK = { allowPrivate: "loopback" } as const;

describe("checkCallbackUrl, default policy: refused", () => {
	const rows: Refusal[] = [
		// not a URL at all
		refused("not a url", /valid absolute URL/),
		refused("", /valid absolute URL/),
		refused("https://", /valid absolute URL/),
		refused("/relative/cb", /valid absolute URL/),
		refused("https://exa mple.com/", /valid absolute URL/),
		refused("https://[::1/", /valid absolute URL/),
		refused("https://example.com:65536/", /valid absolute URL/),
		refused("https://[fe80::1%25eth0]/", /valid absolute URL/),
		refused("https://1.2.3.4.5/", /valid absolute URL/),
		refused("https://./", /must have a host/),
		refused("https://../", /must have a host/),

		// scheme
		refused("http://example.com/", /must use https \(got http:\)/),
		refused("http://example.com:443/", /must use https/),
		refused("ftp://example.com/file", /must use https \(got ftp:\)/),
		refused("file:///etc/passwd", /must use https \(got file:\)/),
		refused("javascript:alert(1)", /must use https \(got javascript:\)/),
		refused("data:text/plain,hello", /must use https \(got data:\)/),
		refused("wss://example.com/", /must use https \(got wss:\)/),

		// port
		refused("https://example.com:80/", /port 443 \(got 80\)/),
		refused("https://example.com:8443/", /port 443 \(got 8443\)/),
		refused("https://example.com:0/", /port 443 \(got 0\)/),
		refused("https://example.com:65535/", /port 443 \(got 65535\)/),
		refused("https://example.com:1/", /port 443 \(got 1\)/),

		// userinfo
		refused("https://user@example.com/", /userinfo/),
		refused("https://:pw@example.com/", /userinfo/),
		refused("https://user:pw@example.com/", /userinfo/),
		refused("https://user:@example.com/", /userinfo/),

		// length
		refused(oneOver, /at most 2048 characters \(got 2049\)/),
		refused(growsPastMax, /at most 2048 characters/),

		// local-only names
		refused("https://localhost/", /local-only name \(localhost\)/),
		refused("https://LOCALHOST/", /local-only name \(localhost\)/),
		refused("https://localhost./", /local-only name \(localhost\)/),
		refused("https://localhost../", /local-only name \(localhost\)/),
		refused("https://foo.localhost/", /local-only name \(\*\.localhost\)/),
		refused("https://a.b.localhost./", /local-only name \(\*\.localhost\)/),
		refused("https://printer.local/", /local-only name \(\*\.local\)/),
		refused("https://Printer.Local./", /local-only name \(\*\.local\)/),
		refused("https://db.internal/", /local-only name \(\*\.internal\)/),
		refused("https://DB.INTERNAL./", /local-only name \(\*\.internal\)/),
		refused("https://%6c%6fcalhost/", /local-only name \(localhost\)/),
		refused("https://ｌｏｃａｌｈｏｓｔ/", /local-only name \(localhost\)/),

		// IPv4 in each refused range
		refused("https://0.0.0.0/", /unspecified.*0\.0\.0\.0\/8/),
		refused("https://0.1.2.3/", /unspecified/),
		refused("https://10.0.0.1/", /private.*10\.0\.0\.0\/8/),
		refused("https://10.255.255.255/", /private/),
		refused("https://100.64.0.1/", /CGNAT.*100\.64\.0\.0\/10/),
		refused("https://100.127.255.254/", /CGNAT/),
		refused("https://127.0.0.1/", /loopback.*127\.0\.0\.0\/8/),
		refused("https://127.255.255.254/", /loopback/),
		refused("https://169.254.169.254/", /link-local.*169\.254\.0\.0\/16/),
		refused("https://172.16.0.1/", /private.*172\.16\.0\.0\/12/),
		refused("https://172.31.255.255/", /private/),
		refused("https://192.0.0.8/", /reserved.*192\.0\.0\.0\/24/),
		refused("https://192.0.2.1/", /documentation.*192\.0\.2\.0\/24/),
		refused("https://192.88.99.1/", /reserved.*6to4/),
		refused("https://192.168.1.1/", /private.*192\.168\.0\.0\/16/),
		refused("https://198.18.0.1/", /benchmarking.*198\.18\.0\.0\/15/),
		refused("https://198.19.255.255/", /benchmarking/),
		refused("https://198.51.100.7/", /documentation.*198\.51\.100\.0\/24/),
		refused("https://203.0.113.9/", /documentation.*203\.0\.113\.0\/24/),
		refused("https://224.0.0.1/", /multicast.*224\.0\.0\.0\/4/),
		refused("https://239.255.255.250/", /multicast/),
		refused("https://240.0.0.1/", /reserved.*240\.0\.0\.0\/4/),
		refused("https://255.255.255.254/", /reserved/),
		refused("https://255.255.255.255/", /broadcast/),

		// other IPv4 spellings, all normalized by the URL parser before judging
		refused("https://2130706433/", /loopback/),
		refused("https://0x7f000001/", /loopback/),
		refused("https://0x7f.1/", /loopback/),
		refused("https://0177.0.0.1/", /loopback/),
		refused("https://127.1/", /loopback/),
		refused("https://127.0.0.1./", /loopback/),
		refused("https://127.0.0.1%2e/", /loopback/),
		refused("https://10.1/", /private/),
		refused("https://0/", /unspecified/),
		refused("https://0xa9fea9fe/", /link-local/),
		refused("https://3232235777/", /private/),
		refused("https://017700000001/", /loopback/),
		refused("https://0x7F.0.0.0x1/", /loopback/),
		refused("https://127.0.0.\n1/", /loopback/),
		refused("https://[0:0:0:0:0:ffff:127.0.0.1]/", /IPv4-mapped/),
		refused("https://[::ffff:169.254.169.254]/", /IPv4-mapped/),

		// parser confusion: what a naive split would call the host is not what fetch connects to
		refused("https://example.com@127.0.0.1/", /userinfo/),
		refused("https://127.0.0.1\\@example.com/", /loopback/),
		refused("https://127.0.0.1#@example.com/", /loopback/),
		refused("https://example.com%40127.0.0.1/", /valid absolute URL/),
		refused("HTTP://example.com/", /must use https \(got http:\)/),

		// IPv6 in each refused range
		refused("https://[::1]/", /loopback.*::1\/128/),
		refused("https://[0:0:0:0:0:0:0:1]/", /loopback/),
		refused("https://[::]/", /unspecified.*::\/128/),
		refused("https://[0:0:0:0:0:0:0:0]/", /unspecified/),
		refused("https://[::ffff:127.0.0.1]/", /IPv4-mapped/),
		refused("https://[::ffff:10.0.0.1]/", /IPv4-mapped/),
		refused("https://[::ffff:7f00:1]/", /IPv4-mapped/),
		refused("https://[::ffff:8.8.8.8]/", /IPv4-mapped/),
		refused("https://[::127.0.0.1]/", /IPv4-compatible/),
		refused("https://[::8.8.8.8]/", /IPv4-compatible/),
		refused("https://[64:ff9b::10.0.0.1]/", /NAT64/),
		refused("https://[64:ff9b::8.8.8.8]/", /NAT64/),
		refused("https://[64:ff9b:1::1]/", /NAT64/),
		refused("https://[100::1]/", /discard-only.*100::\/64/),
		refused("https://[2001::1]/", /Teredo/),
		refused("https://[2001:2::1]/", /benchmarking/),
		refused("https://[2001:10::1]/", /ORCHID/),
		refused("https://[2001:20::1]/", /ORCHIDv2/),
		refused("https://[2001:db8::1]/", /documentation.*2001:db8::\/32/),
		refused("https://[2002:7f00:1::1]/", /6to4.*2002::\/16/),
		refused("https://[2002:808:808::1]/", /6to4/),
		refused("https://[3fff::1]/", /documentation/),
		refused("https://[fc00::1]/", /unique local.*fc00::\/7/),
		refused("https://[fd00::1]/", /unique local/),
		refused("https://[fe80::1]/", /link-local.*fe80::\/10/),
		refused("https://[FE80::1]/", /link-local/),
		refused("https://[febf:ffff::1]/", /link-local/),
		refused("https://[fec0::1]/", /site-local.*fec0::\/10/),
		refused("https://[ff02::1]/", /multicast.*ff00::\/8/),
		refused("https://[ff05::1:3]/", /multicast/),
		// outside 2000::/3: reserved by IANA, not allocated to anyone
		refused("https://[::ffff:0:7f00:1]/", /reserved.*2000::\/3/),
		refused("https://[4000::1]/", /reserved.*2000::\/3/),
		refused("https://[5f00::1]/", /reserved.*2000::\/3/),
		refused("https://[1::1]/", /reserved.*2000::\/3/),
	];

	it.each(rows)("refuses $label", ({ url, why }) => {
		const verdict = checkCallbackUrl(url, DEFAULT);
		expect(verdict.ok).toBe(false);
		if (!verdict.ok) {
			expect(verdict.reason).toMatch(why);
			expect(verdict.reason).toMatch(/^callback_url /);
		}
	});
});

describe("checkCallbackUrl, default policy: accepted", () => {
	const rows: Acceptance[] = [
		accepted("https://example.com/"),
		accepted("https://example.com", "https://example.com/"),
		accepted("https://hooks.example.com/cb/v1?token=abc&x=1"),
		accepted("https://example.com:443/x?y=1", "https://example.com/x?y=1"),
		accepted("HTTPS://EXAMPLE.COM/Path", "https://example.com/Path"),
		accepted("https://example.com./cb"),
		// fragments are kept; fetch never sends them, so they cannot change the target
		accepted("https://example.com/cb#frag"),
		accepted(exactlyMax),
		// public IP literals are allowed: only the listed ranges are refused
		accepted("https://8.8.8.8/hook"),
		accepted("https://1.1.1.1/"),
		accepted("https://11.0.0.1/"),
		accepted("https://100.63.255.255/"),
		accepted("https://100.128.0.1/"),
		accepted("https://172.15.255.255/"),
		accepted("https://172.32.0.1/"),
		accepted("https://192.169.0.1/"),
		accepted("https://223.255.255.255/"),
		accepted("https://134744072/", "https://8.8.8.8/"),
		accepted("https://[2606:4700::1111]/"),
		accepted("https://[2001:4860:4860::8888]/"),
		accepted("https://[2606:4700:4700:0:0:0:0:1111]/", "https://[2606:4700:4700::1111]/"),
		// punycode / IDN hosts
		accepted("https://xn--bcher-kva.de/"),
		accepted("https://bücher.de/", "https://xn--bcher-kva.de/"),
		accepted("https://xn--fiqs8s.xn--fiqz9s/"),
		// names that merely contain a local-only word
		accepted("https://localhost.example.com/"),
		accepted("https://internal.example.com/"),
		accepted("https://example.locale/"),
		accepted("https://mylocalhost.com/"),
	];

	it.each(rows)("accepts $label", ({ url, normalized }) => {
		expect(checkCallbackUrl(url, DEFAULT)).toEqual({ ok: true, url: normalized });
	});
});

describe("checkCallbackUrl, allowPrivate", () => {
	const ok: Acceptance[] = [
		accepted("http://127.0.0.1:8791/cb"),
		accepted("http://localhost:8787/hook"),
		accepted("https://[::1]:8443/x"),
		accepted("http://10.0.0.5/"),
		accepted("http://192.168.1.20:3000/cb"),
		accepted("https://printer.local/"),
		accepted("http://db.internal:9000/"),
		accepted("http://2130706433/", "http://127.0.0.1/"),
		accepted("https://example.com/"),
		accepted("http://example.com:0/"),
		accepted(exactlyMax),
	];
	const bad: Refusal[] = [
		refused("http://user:pw@127.0.0.1/", /userinfo/),
		refused("http://user@localhost:8787/", /userinfo/),
		refused("https://:pw@example.com/", /userinfo/),
		refused("ftp://127.0.0.1/", /must use http or https \(got ftp:\)/),
		refused("file:///etc/passwd", /must use http or https/),
		refused("javascript:alert(1)", /must use http or https/),
		refused("data:text/plain,hi", /must use http or https/),
		refused("ws://127.0.0.1/", /must use http or https/),
		refused("not a url", /valid absolute URL/),
		refused("", /valid absolute URL/),
		refused("http://", /valid absolute URL/),
		refused("http://./", /must have a host/),
		refused(oneOver, /at most 2048 characters/),
		refused(growsPastMax, /at most 2048 characters/),
	];

	it.each(ok)("accepts $label", ({ url, normalized }) => {
		expect(checkCallbackUrl(url, PRIVATE_OK)).toEqual({ ok: true, url: normalized });
	});

	it.each(bad)("refuses $label", ({ url, why }) => {
		const verdict = checkCallbackUrl(url, PRIVATE_OK);
		expect(verdict.ok).toBe(false);
		if (!verdict.ok) expect(verdict.reason).toMatch(why);
	});
});

// ALLOW_PRIVATE_CALLBACKS=loopback, what `npm start` runs with: http or https on any port, to this
// machine only. Every other target — public names and addresses included — is refused.
describe("checkCallbackUrl, loopback only", () => {
	const ok: Acceptance[] = [
		accepted("http://127.0.0.1:8791/callbacks"),
		accepted("http://127.0.0.1/"),
		accepted("https://127.0.0.1:8443/x"),
		accepted("http://127.255.255.254:1/"),
		accepted("http://127.0.0.1:65535/cb?x=1#frag"),
		accepted("http://localhost:3000/hook"),
		accepted("http://LOCALHOST:3000/hook", "http://localhost:3000/hook"),
		accepted("http://%6c%6fcalhost/", "http://localhost/"),
		accepted("http://[::1]:8080/cb"),
		accepted("http://[0:0:0:0:0:0:0:1]/", "http://[::1]/"),
		// other spellings of 127.x that the URL parser rewrites to a dotted quad
		accepted("http://127.1/", "http://127.0.0.1/"),
		accepted("http://0x7f.0.0.1/", "http://127.0.0.1/"),
		accepted("http://0x7f000001:9000/", "http://127.0.0.1:9000/"),
		accepted("http://2130706433/", "http://127.0.0.1/"),
		accepted("http://0177.0.0.1/", "http://127.0.0.1/"),
		accepted("http://127.0.0.1./", "http://127.0.0.1/"),
		// what looks like another host is not what fetch connects to: the host here is 127.0.0.1
		accepted("http://127.0.0.1\\@example.com/", "http://127.0.0.1/@example.com/"),
		accepted("http://127.0.0.1#@example.com/", "http://127.0.0.1/#@example.com/"),
	];
	const bad: Refusal[] = [
		// public targets: the demo never sends off this machine
		refused("https://example.com/hooks", /not on this machine/),
		refused("http://example.com/", /not on this machine/),
		refused("https://8.8.8.8/", /not on this machine/),
		refused("https://[2606:4700::1111]/", /not on this machine/),
		// private and other non-loopback local targets
		refused("http://10.0.0.1/x", /not on this machine/),
		refused("http://192.168.1.20:3000/cb", /not on this machine/),
		refused("http://169.254.169.254/latest/meta-data/", /not on this machine/),
		refused("http://0.0.0.0:8791/", /not on this machine/),
		refused("http://0/", /not on this machine/),
		refused("http://[::]/", /not on this machine/),
		refused("http://[fe80::1]/", /not on this machine/),
		refused("http://[fd00::1]/", /not on this machine/),
		refused("http://128.0.0.1/", /not on this machine/),
		refused("http://126.255.255.255/", /not on this machine/),
		refused("http://printer.local/", /not on this machine/),
		refused("http://db.internal:9000/", /not on this machine/),
		// names that only may resolve to loopback: handed to DNS, they can lead anywhere
		refused("http://localhost./", /host localhost\. is not on this machine/),
		refused("http://evil.localhost/", /not on this machine/),
		refused("http://localhost.example.com/", /not on this machine/),
		refused("http://127.0.0.1.nip.io/", /not on this machine/),
		// IPv4 inside IPv6: refused here as everywhere in this policy
		refused("http://[::ffff:127.0.0.1]/", /not on this machine/),
		refused("http://[::127.0.0.1]/", /not on this machine/),
		refused("http://[::2]/", /not on this machine/),
		// userinfo, including the spelling that puts a public host first
		refused("http://user:pw@127.0.0.1/", /userinfo/),
		refused("http://user@localhost:8787/", /userinfo/),
		refused("http://example.com@127.0.0.1/", /userinfo/),
		refused("http://127.0.0.1@example.com/", /userinfo/),
		// schemes and shapes
		refused("ftp://127.0.0.1/", /must use http or https \(got ftp:\)/),
		refused("ws://localhost/", /must use http or https/),
		refused("file:///etc/passwd", /must use http or https/),
		refused("not a url", /valid absolute URL/),
		refused("http://./", /must have a host/),
		refused(oneOver, /at most 2048 characters/),
	];

	it.each(ok)("accepts $label", ({ url, normalized }) => {
		expect(checkCallbackUrl(url, LOOPBACK)).toEqual({ ok: true, url: normalized });
	});

	it.each(bad)("refuses $label", ({ url, why }) => {
		const verdict = checkCallbackUrl(url, LOOPBACK);
		expect(verdict.ok).toBe(false);
		if (!verdict.ok) {
			expect(verdict.reason).toMatch(why);
			expect(verdict.reason).toMatch(/^callback_url /);
		}
	});

	it("names the setting and what it allows when it refuses", () => {
		const verdict = checkCallbackUrl("https://example.com/hooks", LOOPBACK);
		expect(verdict).toEqual({
			ok: false,
			reason:
				"callback_url host example.com is not on this machine: ALLOW_PRIVATE_CALLBACKS=loopback allows only 127.0.0.0/8, [::1] and localhost",
		});
	});
});

// The URL parser always hands over canonical forms, so the longer spellings below can only be
// exercised by calling the parsers directly.
describe("parseIpv4", () => {
	it.each([
		["0.0.0.0", 0],
		["127.0.0.1", 0x7f000001],
		["255.255.255.255", 0xffffffff],
		["8.8.8.8", 0x08080808],
	] as const)("parses %s", (text, value) => {
		expect(parseIpv4(text)).toBe(value);
	});

	it.each([
		"",
		"1.2.3",
		"1.2.3.4.5",
		"256.0.0.1",
		"01.2.3.4",
		"0x7f.0.0.1",
		"1.2.3.",
		"a.b.c.d",
		"1..2.3",
		"-1.2.3.4",
	])("rejects %j", (text) => {
		expect(parseIpv4(text)).toBeNull();
	});
});

describe("parseIpv6", () => {
	it.each([
		["::", [0, 0, 0, 0, 0, 0, 0, 0]],
		["::1", [0, 0, 0, 0, 0, 0, 0, 1]],
		["0:0:0:0:0:0:0:1", [0, 0, 0, 0, 0, 0, 0, 1]],
		["fe80::", [0xfe80, 0, 0, 0, 0, 0, 0, 0]],
		["FE80::1", [0xfe80, 0, 0, 0, 0, 0, 0, 1]],
		["2606:4700::1111", [0x2606, 0x4700, 0, 0, 0, 0, 0, 0x1111]],
		["1:2:3:4:5:6:7::", [1, 2, 3, 4, 5, 6, 7, 0]],
		["::2:3:4:5:6:7:8", [0, 2, 3, 4, 5, 6, 7, 8]],
		["::ffff:127.0.0.1", [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]],
		["::ffff:7f00:1", [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]],
		["::127.0.0.1", [0, 0, 0, 0, 0, 0, 0x7f00, 1]],
		["64:ff9b::10.0.0.1", [0x64, 0xff9b, 0, 0, 0, 0, 0x0a00, 1]],
		["0:0:0:0:0:ffff:10.0.0.1", [0, 0, 0, 0, 0, 0xffff, 0x0a00, 1]],
	] as const)("parses %s", (text, groups) => {
		expect(parseIpv6(text)).toEqual(groups);
	});

	it.each([
		"",
		":",
		":::",
		"1::2::3",
		"1:2:3:4:5:6:7",
		"1:2:3:4:5:6:7:8:9",
		"1:2:3:4::5:6:7:8",
		"12345::1",
		"g::1",
		"::1.2.3",
		"::256.0.0.1",
		"1.2.3.4::",
		"::1.2.3.4:5",
		"fe80::1%eth0",
	])("rejects %j", (text) => {
		expect(parseIpv6(text)).toBeNull();
	});
});
