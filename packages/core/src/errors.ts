import { z } from "zod";

/** A location inside an input: object keys and array indexes, as zod reports them. */
export type IssuePath = readonly (string | number)[];

/**
 * Every way an input can be rejected. Extend by adding codes; never rename one (the CLI's JSON,
 * the playground and tests match on them).
 */
export const inputErrorCodes = [
  "invalid_quantity",
  "quantity_out_of_range",
  "invalid_schema",
  "invalid_requirement",
  "invalid_label_selector",
  "invalid_taint",
  "invalid_toleration",
  "invalid_catalog",
  "invalid_reference",
  "unsupported_object",
] as const;

/** The machine-readable kind of an input error. */
export type InputErrorCode = (typeof inputErrorCodes)[number];

/** An input error as data: a code, where it is, and structured fields. Text is rendered by `renderInputError`. */
export const InputErrorSchema = z.object({
  code: z.enum(inputErrorCodes),
  /** Where the input came from: a file name, "stdin", an API object reference. */
  source: z.string().optional(),
  /** Path inside the source (document index first when the source has several documents). */
  path: z.array(z.union([z.string(), z.number()])),
  /** The offending value, shortened, when it helps to show it. */
  value: z.string().optional(),
  /** What was expected, in a few words ("a Kubernetes quantity such as 500m or 2Gi"). */
  expected: z.string().optional(),
  /** The object this error belongs to, as `Kind namespace/name` or `Kind name`. */
  object: z.string().optional(),
  /** Free text detail (for example zod's own message). */
  detail: z.string().optional(),
});

/** An input error; see `InputErrorSchema`. */
export type InputError = z.infer<typeof InputErrorSchema>;

/** Formats a path as `spec.containers[0].resources.requests.cpu`. */
export function formatPath(path: IssuePath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(part)) out += out === "" ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

const headlines: Record<InputErrorCode, string> = {
  invalid_quantity: "is not a valid quantity",
  quantity_out_of_range: "is out of range",
  invalid_schema: "is invalid",
  invalid_requirement: "is not a valid requirement",
  invalid_label_selector: "is not a valid label selector",
  invalid_taint: "is not a valid taint",
  invalid_toleration: "is not a valid toleration",
  invalid_catalog: "is not a valid instance catalog",
  invalid_reference: "refers to something that does not exist",
  unsupported_object: "is not supported",
};

/** Renders an input error as one sentence. The only place error text is made. */
export function renderInputError(error: InputError): string {
  const where = [error.source, error.object].filter((s) => s !== undefined && s !== "").join(": ");
  const field = formatPath(error.path);
  const subject = field === "" ? "input" : field;
  let text = `${where === "" ? "" : `${where}: `}${subject}${error.value === undefined ? "" : ` (${JSON.stringify(error.value)})`} ${headlines[error.code]}`;
  if (error.expected !== undefined) text += `: expected ${error.expected}`;
  if (error.detail !== undefined) text += `${error.expected === undefined ? ": " : "; "}${error.detail}`;
  return text;
}

/** Thrown by `parse*` helpers when an input cannot be used; carries every error found, as data. */
export class InputValidationError extends Error {
  readonly errors: readonly InputError[];
  constructor(errors: readonly InputError[]) {
    super(errors.map(renderInputError).join("\n"));
    this.name = "InputValidationError";
    this.errors = errors;
  }
}

/** True when `e` is an `InputValidationError` (works across module copies). */
export function isInputValidationError(e: unknown): e is InputValidationError {
  return (
    e instanceof Error &&
    e.name === "InputValidationError" &&
    Array.isArray((e as InputValidationError).errors)
  );
}

/** Converts zod issues into input errors, prefixing each path with `basePath`. */
export function fromZodError(
  error: z.ZodError,
  context: { source?: string; object?: string; basePath?: IssuePath } = {},
): InputError[] {
  return error.issues.map((issue) => {
    const out: InputError = {
      code: "invalid_schema",
      path: [...(context.basePath ?? []), ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))],
      detail: issue.message,
    };
    if (context.source !== undefined) out.source = context.source;
    if (context.object !== undefined) out.object = context.object;
    return out;
  });
}
