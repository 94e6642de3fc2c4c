// Runs before the API reference bundle (/docs/api-reference.js). The zod inside it probes for eval
// with Function(""), which the page's Content-Security-Policy refuses and reports as a violation;
// zod's own global setting says not to probe, so the console stays clean and nothing changes.
globalThis.__zod_globalConfig = Object.assign(globalThis.__zod_globalConfig ?? {}, { jitless: true });
