// Callback URL policy (SPEC §3): decides whether a client-supplied callback_url may be stored and
// POSTed to, so the worker cannot be aimed at loopback, private or otherwise non-public targets.
// Pure: only the WHATWG `URL` parser, whose normalized host (decimal/hex/octal IPv4, compressed IPv6,
// IDNA, lowercase) is what gets judged and returned. Names are not resolved, so this is a literal-host
// policy; fragments are allowed and kept (fetch never sends them); public IP literals are allowed.
// `allowPrivate: "loopback"` (the local demo) turns the policy around: http or https, any port, but
// only to this machine — 127.0.0.0/8, [::1] or the exact name `localhost` — and nowhere else.

export type CallbackUrlVerdict = { ok: true; url: string } | { ok: false; reason: string };

export const MAX_CALLBACK_URL_LENGTH = 2048;

export type CallbackUrlOptions = {
	/** false: the public policy; "loopback": this machine only, http allowed; true: anything http(s) */
	allowPrivate: boolean | "loopback";
};

export function checkCallbackUrl(raw: string, options: CallbackUrlOptions): CallbackUrlVerdict {
	// Checked before parsing so a huge body is never handed to the parser.
	if (raw.length > MAX_CALLBACK_URL_LENGTH) return tooLong(raw.length);

	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		return refuse("callback_url is not a valid absolute URL");
	}
	// Normalization can lengthen the string (percent-encoding, punycode); the stored form must fit too.
	if (url.href.length > MAX_CALLBACK_URL_LENGTH) return tooLong(url.href.length);

	const scheme = url.protocol;
	if (options.allowPrivate !== false) {
		if (scheme !== "https:" && scheme !== "http:") {
			return refuse(`callback_url must use http or https (got ${scheme})`);
		}
	} else if (scheme !== "https:") {
		return refuse(`callback_url must use https (got ${scheme})`);
	}

	// Credentials in URLs end up in logs and stored watches; receivers authenticate with callback_headers.
	if (url.username !== "" || url.password !== "") {
		return refuse(
			"callback_url must not contain userinfo (username or password); use callback_headers for receiver auth",
		);
	}

	const host = url.hostname;
	if (host === "" || /^\.*$/.test(host)) return refuse("callback_url must have a host");

	if (options.allowPrivate === true) return { ok: true, url: url.href };
	if (options.allowPrivate === "loopback") {
		const problem = checkLoopbackHost(host);
		return problem === null ? { ok: true, url: url.href } : refuse(problem);
	}

	// The parser leaves `port` empty when it equals the scheme default, so an explicit ":443" passes here.
	if (url.port !== "") return refuse(`callback_url must use port 443 (got ${url.port})`);

	const hostProblem = host.startsWith("[") ? checkIpv6Host(host) : checkNonIpv6Host(host);
	if (hostProblem !== null) return refuse(hostProblem);

	return { ok: true, url: url.href };
}

function refuse(reason: string): CallbackUrlVerdict {
	return { ok: false, reason };
}

function tooLong(length: number): CallbackUrlVerdict {
	return refuse(`callback_url must be at most ${MAX_CALLBACK_URL_LENGTH} characters (got ${length})`);
}

// ---- loopback only ----

/**
 * The host as the URL parser normalized it (every IPv4 spelling is a dotted quad by now, and IPv6
 * compressed, so [::1] has one spelling). Only spellings that cannot leave the machine pass: `localhost` is taken
 * exactly, since "localhost." and "*.localhost" may be handed to DNS, and IPv4-mapped forms of
 * 127.0.0.1 are refused like everywhere else in this policy.
 */
function checkLoopbackHost(host: string): string | null {
	if (host === "localhost" || host === "[::1]") return null;
	const v4 = parseIpv4(host);
	if (v4 !== null && inIpv4Range(v4, IPV4_LOOPBACK)) return null;
	return `callback_url host ${host} is not on this machine: ALLOW_PRIVATE_CALLBACKS=loopback allows only 127.0.0.0/8, [::1] and localhost`;
}

// ---- host names and IPv4 ----

const LOCAL_NAME_SUFFIXES = [".localhost", ".local", ".internal"];

function checkNonIpv6Host(host: string): string | null {
	const v4 = parseIpv4(host);
	if (v4 !== null) {
		const range = IPV4_BLOCKED.find((r) => inIpv4Range(v4, r));
		return range === undefined ? null : `callback_url host ${host} is ${range.label} (${range.cidr})`;
	}

	// A fully-qualified name ("localhost.", "db.internal.") reaches the same target as the bare one.
	const name = host.toLowerCase().replace(/\.+$/, "");
	if (name === "localhost") return `callback_url host ${host} is a local-only name (localhost)`;
	const suffix = LOCAL_NAME_SUFFIXES.find((s) => name.endsWith(s));
	if (suffix !== undefined) return `callback_url host ${host} is a local-only name (*${suffix})`;

	// The WHATWG parser turns any host whose last label is numeric into an IPv4 address or rejects it,
	// so reaching here with such a label means an unexpected parser; refuse rather than guess.
	const lastLabel = name.slice(name.lastIndexOf(".") + 1);
	if (/^(0x[0-9a-f]*|[0-9]+)$/.test(lastLabel)) {
		return `callback_url host ${host} looks like a numeric IP address but is not a canonical one`;
	}
	return null;
}

/**
 * Strict canonical dotted-quad to a 32-bit number, or null; the URL parser has already rewritten every
 * other IPv4 spelling. Exported for tests.
 */
export function parseIpv4(text: string): number | null {
	const parts = text.split(".");
	if (parts.length !== 4) return null;
	let value = 0;
	for (const part of parts) {
		if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
		const octet = Number(part);
		if (octet > 255) return null;
		value = value * 256 + octet;
	}
	return value;
}

type Ipv4Range = { cidr: string; base: number; bits: number; label: string };

function v4Range(cidr: string, label: string): Ipv4Range {
	const [addr, bits] = cidr.split("/");
	const base = parseIpv4(addr ?? "");
	if (base === null) throw new Error(`bad IPv4 range ${cidr}`);
	return { cidr, base, bits: Number(bits), label };
}

function inIpv4Range(addr: number, range: Ipv4Range): boolean {
	const mask = range.bits === 0 ? 0 : (0xffffffff << (32 - range.bits)) >>> 0;
	return (addr & mask) >>> 0 === range.base;
}

const IPV4_LOOPBACK = v4Range("127.0.0.0/8", "a loopback address");

// First match wins, so the narrow broadcast entry sits before 240.0.0.0/4.
const IPV4_BLOCKED: Ipv4Range[] = [
	v4Range("0.0.0.0/8", 'an unspecified ("this network") address'),
	v4Range("10.0.0.0/8", "a private address"),
	v4Range("100.64.0.0/10", "a carrier-grade NAT (CGNAT) address"),
	v4Range("127.0.0.0/8", "a loopback address"),
	v4Range("169.254.0.0/16", "a link-local address"),
	v4Range("172.16.0.0/12", "a private address"),
	v4Range("192.0.0.0/24", "a reserved address (IETF protocol assignments)"),
	v4Range("192.0.2.0/24", "a reserved documentation address (TEST-NET-1)"),
	// Deprecated 6to4 relay anycast (RFC 7526): traffic there is tunnelled to wherever the relay points.
	v4Range("192.88.99.0/24", "a reserved address (6to4 relay anycast)"),
	v4Range("192.168.0.0/16", "a private address"),
	v4Range("198.18.0.0/15", "a reserved benchmarking address"),
	v4Range("198.51.100.0/24", "a reserved documentation address (TEST-NET-2)"),
	v4Range("203.0.113.0/24", "a reserved documentation address (TEST-NET-3)"),
	v4Range("224.0.0.0/4", "a multicast address"),
	v4Range("255.255.255.255/32", "the reserved broadcast address"),
	v4Range("240.0.0.0/4", "a reserved address (240.0.0.0/4)"),
];

// ---- IPv6 ----

function checkIpv6Host(host: string): string | null {
	const groups = host.endsWith("]") ? parseIpv6(host.slice(1, -1)) : null;
	if (groups === null) return `callback_url host ${host} is not a valid IPv6 address`;
	const range = IPV6_BLOCKED.find((r) => inIpv6Range(groups, r));
	if (range !== undefined) return `callback_url host ${host} is ${range.label} (${range.cidr})`;
	// Only 2000::/3 is allocated for global unicast; everything else is reserved by IANA.
	if (!inIpv6Range(groups, GLOBAL_UNICAST)) {
		return `callback_url host ${host} is a reserved address (outside global unicast 2000::/3)`;
	}
	return null;
}

/**
 * Eight 16-bit groups, or null. Accepts one "::" run and a trailing embedded dotted quad, which the URL
 * parser never emits today but other spellings of the same address would. Exported for tests.
 */
export function parseIpv6(text: string): number[] | null {
	const halves = text.split("::");
	if (halves.length > 2) return null;
	const head = parseIpv6Groups(halves[0] ?? "", halves.length === 1);
	const tail = halves.length === 2 ? parseIpv6Groups(halves[1] ?? "", true) : [];
	if (head === null || tail === null) return null;
	if (halves.length === 1) return head.length === 8 ? head : null;
	// "::" stands for at least one zero group.
	const missing = 8 - head.length - tail.length;
	if (missing < 1) return null;
	return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

function parseIpv6Groups(text: string, mayEndInIpv4: boolean): number[] | null {
	if (text === "") return [];
	const pieces = text.split(":");
	const groups: number[] = [];
	for (let i = 0; i < pieces.length; i++) {
		const piece = pieces[i] ?? "";
		if (i === pieces.length - 1 && mayEndInIpv4 && piece.includes(".")) {
			const v4 = parseIpv4(piece);
			if (v4 === null) return null;
			groups.push(Math.floor(v4 / 0x10000), v4 % 0x10000);
		} else {
			if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
			groups.push(parseInt(piece, 16));
		}
	}
	return groups;
}

type Ipv6Range = { cidr: string; groups: number[]; bits: number; label: string };

function v6Range(cidr: string, label: string): Ipv6Range {
	const [addr, bits] = cidr.split("/");
	const groups = parseIpv6(addr ?? "");
	if (groups === null) throw new Error(`bad IPv6 range ${cidr}`);
	return { cidr, groups, bits: Number(bits), label };
}

function inIpv6Range(addr: number[], range: Ipv6Range): boolean {
	let bitsLeft = range.bits;
	for (let i = 0; i < 8 && bitsLeft > 0; i++) {
		const take = Math.min(16, bitsLeft);
		const mask = (0xffff << (16 - take)) & 0xffff;
		if (((addr[i] ?? 0) & mask) !== ((range.groups[i] ?? 0) & mask)) return false;
		bitsLeft -= take;
	}
	return true;
}

const GLOBAL_UNICAST = v6Range("2000::/3", "global unicast");

// First match wins: exact ::/::1 before ::/96, specific 2001:: blocks before the 2000::/3 fallback.
// Prefixes that embed an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are refused outright
// rather than judged by the embedded address: a receiver has no reason to be addressed that way, and
// where they lead depends on translators and relays outside this policy's view.
const IPV6_BLOCKED: Ipv6Range[] = [
	v6Range("::/128", "an unspecified address"),
	v6Range("::1/128", "a loopback address"),
	v6Range("::ffff:0:0/96", "an IPv4-mapped address"),
	v6Range("::/96", "an IPv4-compatible address (deprecated)"),
	v6Range("64:ff9b::/96", "a NAT64 address"),
	v6Range("64:ff9b:1::/48", "a local-use NAT64 address"),
	v6Range("100::/64", "a reserved discard-only address"),
	v6Range("2001::/32", "a Teredo tunnel address"),
	v6Range("2001:2::/48", "a reserved benchmarking address"),
	v6Range("2001:10::/28", "a reserved address (ORCHID)"),
	v6Range("2001:20::/28", "a reserved address (ORCHIDv2)"),
	v6Range("2001:db8::/32", "a reserved documentation address"),
	v6Range("2002::/16", "a 6to4 address"),
	v6Range("3fff::/20", "a reserved documentation address"),
	v6Range("fc00::/7", "a unique local (ULA, private) address"),
	v6Range("fe80::/10", "a link-local address"),
	v6Range("fec0::/10", "a site-local address (deprecated, private)"),
	v6Range("ff00::/8", "a multicast address"),
];
