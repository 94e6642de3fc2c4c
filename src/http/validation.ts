// Turns zod failures into the 400 envelope: unknown fields are named in the message, and every
// issue is listed in `details` with its path, so a client can fix all of them at once.

import type { z } from "zod";
import { ValidationError } from "../core/errors";

export function validationError(error: z.ZodError, where = "body"): ValidationError {
	const issues = error.issues.map((i) => ({
		path: i.path.map(String).join("."),
		code: i.code,
		message: i.message,
	}));
	const unknown = error.issues.flatMap((i) =>
		i.code === "unrecognized_keys" ? i.keys.map((k) => [...i.path.map(String), k].join(".")) : [],
	);
	const message =
		unknown.length > 0
			? `unknown field${unknown.length > 1 ? "s" : ""} in ${where}: ${unknown.join(", ")}`
			: `invalid ${where}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ")}`;
	return new ValidationError(message, { issues });
}
