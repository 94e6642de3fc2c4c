// Types for scripts/client-types.mjs, for the tests that check the client's generated types.

export const DOCUMENT_FILE: string;
export const TYPES_FILE: string;
/** The document as client/openapi.json keeps it. */
export function documentText(doc: unknown): string;
/** The TypeScript types of a document, exactly as client/src/openapi.ts holds them. */
export function typesOf(doc: unknown): Promise<string>;
/** GET /openapi.json from the bundled worker under the local runtime. */
export function servedDocument(): Promise<unknown>;
