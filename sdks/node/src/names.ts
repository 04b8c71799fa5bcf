/** Name rules of SPEC 2.2 / FORMAT.md, shared with the CLI and the Python SDK (fixtures/names.json). */
import { InvalidIdentifierError } from "./errors.js";

// Unicode category Cc: U+0000–U+001F and U+007F–U+009F.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
const DRIVE_PREFIX = /^[A-Za-z]:/;

/** Why `segment` is not a valid single name, or null when it is. */
function segmentProblem(segment: string): string | null {
  if (segment === "") return "must not be empty";
  if (segment === "." || segment === "..") return "must not be '.' or '..'";
  if (segment.includes("\\")) return "must not contain a backslash";
  if (CONTROL.test(segment)) return "must not contain control characters";
  if (DRIVE_PREFIX.test(segment)) return "must not start with a drive prefix (a letter and ':')";
  return null;
}

/** Safe rendering of a rejected name for an error message (control characters escaped). */
function show(value: string): string {
  return JSON.stringify(value);
}

/** Throws InvalidIdentifierError unless `path` is a valid secret path (one or more `/`-separated segments). */
export function validateSecretPath(path: unknown): asserts path is string {
  if (typeof path !== "string") {
    throw new InvalidIdentifierError("invalid secret path: must be a string");
  }
  if (path === "") throw new InvalidIdentifierError("invalid secret path \"\": must not be empty");
  if (path.startsWith("/")) {
    throw new InvalidIdentifierError(`invalid secret path ${show(path)}: must not start with '/'`);
  }
  if (path.endsWith("/")) {
    throw new InvalidIdentifierError(`invalid secret path ${show(path)}: must not end with '/'`);
  }
  if (path.includes("//")) {
    throw new InvalidIdentifierError(`invalid secret path ${show(path)}: must not contain '//'`);
  }
  for (const segment of path.split("/")) {
    const problem = segmentProblem(segment);
    if (problem) {
      throw new InvalidIdentifierError(`invalid secret path ${show(path)}: each segment ${problem}`);
    }
  }
}

/** Throws InvalidIdentifierError unless `name` is a valid agent, owner or group name (a single segment). */
export function validateName(name: unknown, kind = "name"): asserts name is string {
  if (typeof name !== "string") throw new InvalidIdentifierError(`invalid ${kind}: must be a string`);
  if (name.includes("/")) {
    throw new InvalidIdentifierError(`invalid ${kind} ${show(name)}: must not contain '/'`);
  }
  const problem = segmentProblem(name);
  if (problem) throw new InvalidIdentifierError(`invalid ${kind} ${show(name)}: ${problem}`);
}
