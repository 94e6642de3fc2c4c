// Known secret values for tests: the leak tests assert that none of them ever shows up
// in a response, a header or a log line. Two clients (`acme`, `globex`) have tokens of their own
// and their own signing secrets (acme two of them, as during a rotation).

export const CLIENT_SECRETS = {
	acme: ["whsec_Xlme6Loi9aEcS4g0QrGMGskmrB8/javB", "whsec_BlrxSDDMtDGEJKbG9FPuPzmT8puF9qYu"],
	globex: "whsec_iXdrMoLwxONBHPSzrQhciIDNADFM9AKZ",
};

export const TEST_SECRETS = {
	CRUN_API_KEY: "test-crun-key-3f9a",
	API_TOKENS: "tok_alpha_5b1c,tok_beta_9d2e,acme:tok_acme_7c4d61,globex:tok_globex_2f8a93",
	WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	CLIENT_WEBHOOK_SECRETS: JSON.stringify(CLIENT_SECRETS),
};
