// Types for test/e2e/machine.mjs (processes, ports, a recording receiver, files), kept free of
// Node typings like harness.d.mts.

export const NODE: string;
/** This process's PATH, to put something in front of it. */
export const PATH: string;

export interface ProcessResult {
	code: number;
	stdout: string;
	stderr: string;
}

export interface ProcessOptions {
	cwd?: string;
	/** added to this process's environment */
	env?: Record<string, string>;
}

export function runProcess(
	command: string,
	args: string[],
	options?: ProcessOptions & { timeoutMs?: number },
): Promise<ProcessResult>;

export interface StartedProcess {
	readonly pid: number;
	stdout(): string;
	stderr(): string;
	/** null while it runs */
	exitCode(): number | null;
	readonly exited: Promise<number | null>;
	/** SIGTERM, then SIGKILL to its whole process group; the exit code, or "timeout" */
	stop(timeoutMs?: number): Promise<number | null | "timeout">;
}

export function startProcess(command: string, args: string[], options?: ProcessOptions): StartedProcess;

export function freePorts(count: number): Promise<number[]>;

export interface RecordedRequest {
	method: string;
	path: string;
	headers: Record<string, string>;
	body: string;
}

export interface Recorder {
	/** http://127.0.0.1:<port> */
	readonly url: string;
	requests(): RecordedRequest[];
	close(): Promise<void>;
}

export function startRecorder(): Promise<Recorder>;

export function tempDir(prefix?: string): string;
export function makeDir(path: string): void;
export function removeDir(path: string): void;
export function readText(path: string): string;
export function writeText(path: string, text: string): void;
/** Writes a script the owner may run (mode 0755). */
export function writeExecutable(path: string, text: string): void;
export function fileMode(path: string): number;
