// Known secret values for tests: the leak tests assert that none of them ever shows up
// in a response, a header or a log line.

export const TEST_SECRETS = {
	CRUN_API_KEY: "test-crun-key-3f9a",
	API_TOKENS: "tok_alpha_5b1c,tok_beta_9d2e",
	WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
};
