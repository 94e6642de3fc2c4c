// The source tree's shape, read from the code's own imports: each folder of src/ imports only the
// folders below it (so there is no cycle between folders, nor between files), the entry files sit
// on top, and no source file grows past the size at which it stops reading as one concern.

import { describe, expect, it } from "vitest";
import { sourceFiles } from "./source-tree.mjs";

const MAX_LINES = 400;

/** Each folder's floor: a folder may import only folders on lower floors (and itself). */
const FLOORS: Record<string, number> = {
	core: 0,
	api: 1,
	crun: 1,
	delivery: 1,
	polling: 2,
	"watch-index": 2,
	// The deployment-wide objects of the poll engine: the budget needs nothing of polling, the
	// model object stores what polling/model.ts defines; the asset objects use both.
	"upstream-budget": 2,
	"poll-model": 3,
	// The receiver circuit (ReceiverOrigin, ReceiverDirectory): the asset objects call it, and it
	// calls them back through an interface of its own, not through watcher/.
	receivers: 2,
	watcher: 4,
	sweep: 5,
	http: 5,
	routes: 6,
	// The operator's pages call what the routes call, and are mounted by the app like them.
	dashboard: 7,
	"(entry)": 8,
};

const sources = sourceFiles();
const files = sources.map((s) => s.path);
const textOf = new Map(sources.map((s) => [s.path, s.text]));

const folderOf = (file: string) => (file.includes("/") ? (file.split("/")[0] as string) : "(entry)");

/** `spec` resolved against the folder of `from`, both relative to src/ ("a/b/../c" → "a/c"). */
function resolvePath(from: string, spec: string): string {
	const parts = from.split("/").slice(0, -1);
	for (const p of spec.split("/")) {
		if (p === "..") parts.pop();
		else if (p !== ".") parts.push(p);
	}
	return parts.join("/");
}

/** Every relative import of a file, resolved to the source file it names (type-only imports included). */
function importsOf(file: string): string[] {
	const targets: string[] = [];
	for (const m of (textOf.get(file) as string).matchAll(
		/^(?:import|export)\b[^;]*?\bfrom\s+["'](\.{1,2}\/[^"']+)["']/gms,
	)) {
		const spec = m[1] as string;
		if (spec.endsWith(".json")) continue;
		const base = resolvePath(file, spec);
		const found = [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`, `${base}/index.tsx`].find((p) =>
			textOf.has(p),
		);
		if (found) targets.push(found);
	}
	return targets;
}

const edges = files.flatMap((from) => importsOf(from).map((to) => ({ from, to })));

describe("the source tree", () => {
	it("has a floor for every folder, and its imports are read", () => {
		// A pattern that matched nothing would make every rule below pass: the tree has more imports than files.
		expect(edges.length).toBeGreaterThan(files.length);
		expect(files.map(folderOf).filter((f) => !(f in FLOORS))).toEqual([]);
	});

	it("imports only downward between folders", () => {
		const upward = edges
			.filter(({ from, to }) => folderOf(from) !== folderOf(to))
			.filter(({ from, to }) => (FLOORS[folderOf(to)] as number) >= (FLOORS[folderOf(from)] as number))
			.map(({ from, to }) => `${from} -> ${to}`);
		expect(upward).toEqual([]);
	});

	it("has no cycle between files", () => {
		const next = new Map<string, string[]>();
		for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
		const state = new Map<string, "open" | "done">();
		const cycles: string[] = [];
		const visit = (f: string, path: string[]) => {
			if (state.get(f) === "done") return;
			if (state.get(f) === "open") {
				cycles.push([...path.slice(path.indexOf(f)), f].join(" -> "));
				return;
			}
			state.set(f, "open");
			for (const t of next.get(f) ?? []) visit(t, [...path, f]);
			state.set(f, "done");
		};
		for (const f of files) visit(f, []);
		expect(cycles).toEqual([]);
	});

	it(`keeps every source file under ${MAX_LINES} lines`, () => {
		const long = files
			.map((f) => ({ file: f, lines: (textOf.get(f) as string).split("\n").length }))
			.filter((f) => f.lines > MAX_LINES);
		expect(long).toEqual([]);
	});
});
