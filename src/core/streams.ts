// Reading a body with a ceiling: bytes are counted as they arrive, and reading stops (the stream
// is cancelled) as soon as the ceiling is passed, whatever a Content-Length header claimed.

export async function readAtMost(
	stream: ReadableStream<Uint8Array>,
	maxBytes: number,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
	const reader = stream.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	let truncated = false;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		size += value.byteLength;
		chunks.push(value);
		if (size > maxBytes) {
			truncated = true;
			await reader.cancel().catch(() => {});
			break;
		}
	}
	const bytes = new Uint8Array(Math.min(size, maxBytes));
	let at = 0;
	for (const c of chunks) {
		if (at >= bytes.length) break;
		bytes.set(c.subarray(0, bytes.length - at), at);
		at += c.byteLength;
	}
	return { bytes, truncated };
}
