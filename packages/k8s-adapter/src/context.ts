import type { InputError, IssuePath } from "@nodeplan/core";
import type { LoadWarning, LoadWarningCode } from "./warnings.ts";

/** Where an object came from, and the sinks its errors and warnings go to. */
export interface ObjectContext {
  source: string;
  /** Path of the object inside its source (document index first). */
  path: IssuePath;
  /** `Kind namespace/name`. */
  object: string;
  errors: InputError[];
  warnings: LoadWarning[];
}

/** Records an error at `subPath` inside the object. */
export function reportError(
  ctx: ObjectContext,
  subPath: IssuePath,
  error: Omit<InputError, "source" | "path" | "object">,
): void {
  ctx.errors.push({ ...error, source: ctx.source, object: ctx.object, path: [...ctx.path, ...subPath] });
}

/** Records a warning at `subPath` inside the object. */
export function reportWarning(
  ctx: ObjectContext,
  subPath: IssuePath,
  code: LoadWarningCode,
  value?: string,
  suggestion?: string,
): void {
  const warning: LoadWarning = {
    code,
    source: ctx.source,
    object: ctx.object,
    path: [...ctx.path, ...subPath],
  };
  if (value !== undefined) warning.value = value;
  if (suggestion !== undefined) warning.suggestion = suggestion;
  ctx.warnings.push(warning);
}

/** Re-bases errors that carry paths relative to the object (from core parsers) onto the object. */
export function adoptErrors(ctx: ObjectContext, errors: readonly InputError[]): void {
  for (const e of errors)
    ctx.errors.push({ ...e, source: ctx.source, object: ctx.object, path: [...ctx.path, ...e.path] });
}
