import { ConfError, formatPosition, quoteValue, type ConfPosition } from "./conf-error.js";
import { knownDirective, placesOf, type KnownBlock, type KnownDirective } from "./known-directives.js";
import { nearestName } from "./nearest-name.js";
import type { Directive } from "./parser.js";

/**
 * Reads a block of directives through a table of rules (directive name -> reader), checking
 * every name against the tree of directives SRS knows:
 *
 * - a name with a rule is read by it;
 * - a name SRS knows without a rule here is not implemented yet: one warning per directive
 *   path (not per vhost), and its sub-blocks are still checked for misspelt names;
 * - a name nobody knows at that place is ERR_CONF_UNKNOWN_DIRECTIVE, with the nearest known
 *   name or the block where it belongs.
 *
 * Adding a directive is adding a rule to its block's table; adding a block is a table and a
 * rule that calls readBlock for it.
 */

export type WarningLevel = "warn" | "notice";

export interface ConfigWarning {
  file: string;
  line: number;
  column: number;
  /** The whole line to log, starting with `file:line:column: `. */
  message: string;
  /** "notice" for an older spelling that is read in its new form; "warn" for what is ignored. */
  level: WarningLevel;
}

/** What readers share while one config is read: the warnings so far. */
export class ConfigContext {
  readonly warnings: ConfigWarning[] = [];
  private readonly once = new Set<string>();

  /** Adds a warning; with `onceKey`, only the first warning of that key is kept. */
  warn(at: ConfPosition, message: string, level: WarningLevel = "warn", onceKey?: string): void {
    if (onceKey !== undefined) {
      if (this.once.has(onceKey)) return;
      this.once.add(onceKey);
    }
    this.warnings.push({
      file: at.file,
      line: at.line,
      column: at.column,
      message: `${formatPosition(at)}: ${message}`,
      level,
    });
  }
}

export interface DirectiveRule<T> {
  /**
   * How a repeated directive is read. "first" (the default): only the first one, as SRS
   * reads a single-value directive (SrsConfDirective::get returns the first match); the
   * later ones are ignored with a warning. "each": every one, in file order.
   */
  readonly repeat?: "first" | "each";
  /**
   * Read and checked, but the feature does not run yet: the user is also told it is not
   * implemented (a feature lands by removing this flag).
   */
  readonly pending?: boolean;
  read(d: Directive, into: T, ctx: ConfigContext): void;
}

export type BlockRules<T> = Readonly<Record<string, DirectiveRule<T>>>;

/** A block being read: what SRS knows in it and its path ("" top level, "vhost", "vhost.play"). */
export interface BlockPlace {
  readonly known: KnownBlock;
  readonly path: string;
}

export function childPlace(place: BlockPlace, name: string): BlockPlace {
  const entry = knownDirective(place.known, name);
  const known = entry?.block && entry.block !== "any" ? entry.block : {};
  return { known, path: joinPath(place.path, name) };
}

export function readBlock<T>(
  directives: readonly Directive[],
  place: BlockPlace,
  rules: BlockRules<T>,
  into: T,
  ctx: ConfigContext,
): void {
  const firstSeen = new Map<string, Directive>();
  for (const d of directives) {
    const entry = checkKnown(d, place);
    const rule = Object.hasOwn(rules, d.name) ? rules[d.name] : undefined;
    if (!rule) {
      warnNotImplemented(d, entry, place, ctx);
      checkChildren(d, entry, joinPath(place.path, d.name));
      continue;
    }
    if ((rule.repeat ?? "first") === "first") {
      const first = firstSeen.get(d.name);
      if (first) {
        ctx.warn(
          d,
          `duplicate ${quoteValue(d.name)} ignored: as SRS, the first one is used (${formatPosition(first)})`,
        );
        checkChildren(d, entry, joinPath(place.path, d.name));
        continue;
      }
      firstSeen.set(d.name, d);
    }
    if (rule.pending) warnNotImplemented(d, entry, place, ctx);
    rule.read(d, into, ctx);
  }
}

/** The known entry of `d` at `place`, or ERR_CONF_UNKNOWN_DIRECTIVE; also refuses a block where SRS has none. */
function checkKnown(d: Directive, place: BlockPlace): KnownDirective {
  const entry = knownDirective(place.known, d.name);
  if (!entry) throw unknownDirective(d, place);
  if (d.children && !entry.block) {
    throw new ConfError(
      "ERR_CONF_SYNTAX",
      d,
      `${quoteValue(d.name)} is not a block: expected ';' after its arguments, found '{'`,
    );
  }
  return entry;
}

/** Checks the names inside a block that is not read (not implemented, or an ignored duplicate). */
function checkChildren(d: Directive, entry: KnownDirective, path: string): void {
  if (!d.children || entry.block === "any" || !entry.block) return;
  const place: BlockPlace = { known: entry.block, path };
  for (const child of d.children) {
    const childEntry = checkKnown(child, place);
    checkChildren(child, childEntry, joinPath(path, child.name));
  }
}

function warnNotImplemented(d: Directive, entry: KnownDirective, place: BlockPlace, ctx: ConfigContext): void {
  const path = joinPath(place.path, d.name);
  let message: string;
  if (entry.removed) {
    message = `${quoteValue(displayPath(path))} was removed from SRS and has no effect; ignored`;
  } else if (entry.newForm !== undefined) {
    const newPath = displayPath(joinPath(place.path, entry.newForm));
    message = `${quoteValue(displayPath(path))} is SRS's older form of ${quoteValue(newPath)}, which is not implemented yet; ignored`;
  } else {
    message = `${quoteValue(displayPath(path))} is not implemented yet; ignored`;
  }
  ctx.warn(d, message, "warn", `not-implemented:${path}`);
}

function unknownDirective(d: Directive, place: BlockPlace): ConfError {
  const where = place.path === "" ? "at the top level" : `in ${quoteValue(place.path)}`;
  let hint = "";
  const elsewhere = placesOf(d.name).filter((p) => p !== place.path);
  if (elsewhere.length > 0) {
    const shown = elsewhere.slice(0, 3).map((p) => (p === "" ? "the top level" : quoteValue(p)));
    hint = `; it belongs in ${shown.join(" or ")}${elsewhere.length > 3 ? " (and more)" : ""}`;
  } else {
    // Suggest a current name before an older spelling or a removed one.
    const names = Object.keys(place.known);
    const current = names.filter((n) => {
      const e = place.known[n];
      return e !== undefined && e.newForm === undefined && !e.removed;
    });
    const near = nearestName(d.name, current) ?? nearestName(d.name, names);
    if (near !== undefined) hint = `; did you mean ${quoteValue(near)}?`;
  }
  return new ConfError("ERR_CONF_UNKNOWN_DIRECTIVE", d, `unknown directive ${quoteValue(d.name)} ${where}${hint}`);
}

export function joinPath(parent: string, name: string): string {
  return parent === "" ? name : `${parent}.${name}`;
}

/** Paths as users read them in warnings: vhost children without the "vhost." prefix ("hls", "play.atc"). */
export function displayPath(path: string): string {
  return path.startsWith("vhost.") ? path.slice("vhost.".length) : path;
}
