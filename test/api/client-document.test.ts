// The typed client's types are generated from client/openapi.json (npm run client:types); this
// fails when that snapshot is not the document the service serves, so a schema changed in src/
// without regenerating the client is caught here (and test/e2e/client-package.test.ts checks the
// types against the snapshot).
import { describe, expect, it } from "vitest";
import snapshot from "../../client/openapi.json";
import { call, json } from "../support/fakes";

describe("client/openapi.json", () => {
	it("is the document the service serves (else: npm run client:types)", async () => {
		const served = await json(await call("GET", "/openapi.json", { token: null }));
		expect(served).toEqual(snapshot);
	});
});
