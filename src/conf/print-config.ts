/**
 * The effective config (`sluice -t`) in SRS's dialect: every field of the typed, defaulted
 * SluiceConfig, whether the file wrote it or not.
 *
 * Generic over the object: a field `fooBarMs` prints as `foo_bar_ms`, booleans as on/off,
 * arrays of words space-separated, nested objects as blocks, Maps of named objects as
 * `key NAME { }`. Only the fields whose SRS spelling is not their snake_case name, or whose
 * value is not a plain word, are listed below (NAMES, FIELD_NAMES, FLATTEN, ITEM_RENDERERS), so a new
 * directive in config.ts usually prints with no change here.
 */
import type { ListenAddress, SluiceConfig } from "./config.js";

const INDENT = "    ";

/** Top-level object fields printed as prefixed directives rather than a block. */
const FLATTEN: Readonly<Record<string, string>> = { log: "srs_log_" };

/** Field paths (dot-separated, Maps contributing their key name) that print under another name. */
const NAMES: Readonly<Record<string, string>> = { vhosts: "vhost" };

/** Field names, wherever they are, whose SRS spelling is not their snake_case form. */
const FIELD_NAMES: Readonly<Record<string, string>> = { firstPktTimeout: "firstpkt_timeout" };

/** Blocks whose directives (but `enabled`) carry a prefix: hls { hls_fragment; ... }. */
const CHILD_PREFIX: Readonly<Record<string, string>> = { "vhosts.hls": "hls_", "vhosts.dvr": "dvr_" };
/** Fields that keep their own name inside a prefixed block. */
const UNPREFIXED = new Set(["enabled", "timeJitter"]);

/** Arrays of blocks printed as repeated `directive ARG { }`: the item field that is the argument. */
const BLOCK_LISTS: Readonly<Record<string, { directive: string; arg: string }>> = {
  "vhosts.transcodes": { directive: "transcode", arg: "scope" },
  "vhosts.ingests": { directive: "ingest", arg: "name" },
  "vhosts.transcodes.engines": { directive: "engine", arg: "name" },
  "vhosts.ingests.engines": { directive: "engine", arg: "name" },
};

/** ffmpeg option blocks: arrays of [name, value] pairs printed as `name { k v; ... }`. */
const OPTION_BLOCKS = new Set(["vfilter", "vparams", "aparams", "perfile"]);

/**
 * Fields read from the file whose features do not run yet (the `pending` rules in
 * config.ts): printed as a comment, so that -t output reads back without warnings. A field
 * leaves this list when its feature lands.
 */
const PENDING = new Set<string>([]);

/** Fields not printed: where the config came from, and a Map entry's own name. */
const SKIP = new Set(["file", "vhosts.name", "vhosts.transcodes.where", "vhosts.ingests.where", "vhosts.transcodes.engines.where", "vhosts.ingests.engines.where"]);

/** Arrays whose items are objects with a custom one-line form. */
const ITEM_RENDERERS: Readonly<Record<string, (item: unknown) => string>> = {
  "vhosts.security.rules": (item) => {
    const r = item as { action: string; kind: string; match: string; where?: string };
    return `${r.action} ${r.kind} ${r.match};${r.where ? ` # ${r.where}` : ""}`;
  },
};

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function isListenAddress(v: unknown): v is ListenAddress {
  return typeof v === "object" && v !== null && typeof (v as ListenAddress).host === "string" && typeof (v as ListenAddress).port === "number" && Object.keys(v).length === 2;
}

function word(v: unknown): string | undefined {
  if (typeof v === "boolean") return v ? "on" : "off";
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (typeof v === "string") return v === "" || /[\s;{}#'"]/.test(v) ? JSON.stringify(v) : v;
  if (isListenAddress(v)) return v.host.includes(":") ? `[${v.host}]:${v.port}` : `${v.host}:${v.port}`;
  return undefined;
}

function pad(name: string, depth: number): string {
  const width = Math.max(24 - depth * INDENT.length, name.length + 1);
  return name.padEnd(width);
}

function renderField(key: string, value: unknown, pathKey: string, depth: number, out: string[]): void {
  if (value === undefined || value === null || SKIP.has(pathKey)) return;
  const ind = INDENT.repeat(depth);
  if (PENDING.has(pathKey)) {
    out.push(`${ind}# ${NAMES[pathKey] ?? snake(key)}: read, not implemented yet`);
    return;
  }
  const parent = pathKey.slice(0, pathKey.lastIndexOf("."));
  const prefix = UNPREFIXED.has(key) ? "" : (CHILD_PREFIX[parent] ?? "");
  const name = NAMES[pathKey] ?? FIELD_NAMES[key] ?? `${prefix}${snake(key)}`;

  const single = word(value);
  if (single !== undefined) {
    out.push(`${ind}${pad(name, depth)}${single};`);
    return;
  }
  if (Array.isArray(value) && BLOCK_LISTS[pathKey]) {
    const { directive, arg } = BLOCK_LISTS[pathKey]!;
    if (value.length === 0) out.push(`${ind}# ${directive}: none`);
    for (const item of value as Record<string, unknown>[]) {
      const a = String(item[arg] ?? "");
      const rest = Object.fromEntries(Object.entries(item).filter(([k]) => k !== arg));
      renderBlock(directive, a === "" ? undefined : (word(a) ?? a), rest, pathKey, depth, out);
    }
    return;
  }
  if (Array.isArray(value) && OPTION_BLOCKS.has(key)) {
    if (value.length === 0) return;
    out.push(`${ind}${name} {`);
    for (const [k, v] of value as [string, string][]) out.push(`${ind}${INDENT}${k}${v === "" ? "" : ` ${word(v) ?? v}`};`);
    out.push(`${ind}}`);
    return;
  }
  if (Array.isArray(value)) {
    const render = ITEM_RENDERERS[pathKey];
    if (render) {
      if (value.length === 0) out.push(`${ind}# ${name}: none`);
      for (const item of value) out.push(`${ind}${render(item)}`);
      return;
    }
    const words = value.map(word);
    if (words.every((w): w is string => w !== undefined)) {
      if (words.length === 0) out.push(`${ind}# ${name}: none`);
      else out.push(`${ind}${pad(name, depth)}${words.join(" ")};`);
      return;
    }
    for (const item of value) renderBlock(name, undefined, item, pathKey, depth, out);
    return;
  }
  if (value instanceof Map) {
    for (const [k, v] of value) renderBlock(name, word(k) ?? String(k), v, pathKey, depth, out);
    return;
  }
  if (typeof value === "object") {
    const prefix = depth === 0 ? FLATTEN[pathKey] : undefined;
    if (prefix !== undefined) {
      for (const [k, v] of Object.entries(value)) renderField(`${prefix}${snake(k)}`, v, `${pathKey}.${k}`, depth, out);
      return;
    }
    renderBlock(name, undefined, value, pathKey, depth, out);
    return;
  }
  out.push(`${ind}# ${name}: ${String(value)}`);
}

function renderBlock(name: string, arg: string | undefined, value: unknown, pathKey: string, depth: number, out: string[]): void {
  const ind = INDENT.repeat(depth);
  out.push(`${ind}${name}${arg !== undefined ? ` ${arg}` : ""} {`);
  if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) renderField(k, v, `${pathKey}.${k}`, depth + 1, out);
  } else {
    const w = word(value);
    if (w !== undefined) out.push(`${ind}${INDENT}${w};`);
  }
  out.push(`${ind}}`);
}

/** The effective config as SRS-dialect text, with a header comment naming the file. */
export function printConfig(config: SluiceConfig): string {
  const out: string[] = [`# effective configuration of ${config.file} (defaults filled in)`];
  for (const [key, value] of Object.entries(config)) renderField(key, value, key, 0, out);
  return `${out.join("\n")}\n`;
}
