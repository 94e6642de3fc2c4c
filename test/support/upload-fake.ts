// Crun's asset-upload endpoint for tests inside workerd, layered over the shared `Fakes`: it
// takes the uploads (scripted answers, recorded requests) and hands every other request to the
// fetch mock `Fakes` installed, so the new asset's status is scripted there as usual.

import { vi } from "vitest";
import { UPSTREAM } from "./fakes";

export type UploadAnswer =
	| { assetId: string; message?: string }
	| { http: number; body: string; headers?: Record<string, string> }
	| { throws: string }
	/** never answers; the client has to time out */
	| { hang: true };

export interface RecordedUpload {
	apiKey: string | null;
	contentType: string | null;
	body: unknown;
}

export class UploadFake {
	/** answers consumed in order; the last one repeats; default: a fresh asset id per upload */
	answers: UploadAnswer[] = [];
	uploads: RecordedUpload[] = [];
	private count = 0;

	/** Call after `Fakes.install()`: wraps its fetch mock, which `Fakes.uninstall()` then restores. */
	install(): this {
		const mocked = vi.mocked(globalThis.fetch);
		const inner = mocked.getMockImplementation();
		if (!inner) throw new Error("install Fakes first");
		mocked.mockImplementation(async (input, init) => {
			const req = new Request(input as RequestInfo, init as RequestInit);
			if (req.url === `${UPSTREAM}/api/v1/client/job/asset-upload`) return this.answer(req);
			return inner(input, init);
		});
		return this;
	}

	script(...answers: UploadAnswer[]): void {
		this.answers = answers;
	}

	private async answer(req: Request): Promise<Response> {
		const text = await req.text();
		let body: unknown;
		try {
			body = JSON.parse(text);
		} catch {
			body = text;
		}
		this.uploads.push({
			apiKey: req.headers.get("x-api-key"),
			contentType: req.headers.get("content-type"),
			body,
		});
		const a = (this.answers.length > 1 ? this.answers.shift() : this.answers[0]) ?? {
			assetId: `asset-up-${++this.count}-${Math.random().toString(16).slice(2, 10)}`,
		};
		if ("throws" in a) throw new TypeError(a.throws);
		if ("hang" in a)
			return new Promise<Response>((_resolve, reject) => {
				req.signal.addEventListener("abort", () => reject(req.signal.reason));
			});
		if ("http" in a) return new Response(a.body, { status: a.http, headers: a.headers });
		return Response.json({ code: 200, message: a.message ?? "success", data: { AssetId: a.assetId } });
	}
}
