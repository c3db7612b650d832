import { isIP } from "node:net";
import { ConfError, quoteValue } from "./conf-error.js";
import type { Directive } from "./parser.js";
import type { ConfigContext } from "./directive-reader.js";

/**
 * Readers of directive values: each checks the arguments and throws ERR_CONF_VALUE naming
 * the directive, what was given and what was expected.
 */

export const INT32_MAX = 2147483647;

export interface ListenAddress {
  host: string;
  port: number;
}

function valueError(d: Directive, message: string): ConfError {
  return new ConfError("ERR_CONF_VALUE", d, message);
}

function givenArgs(d: Directive): string {
  return d.args.map((a) => quoteValue(a)).join(" ");
}

/** The single argument of `d`, or an error saying what was expected. */
export function oneArg(d: Directive, expected: string): string {
  const first = d.args[0];
  if (first === undefined) throw valueError(d, `missing value for ${quoteValue(d.name)}: expected ${expected}`);
  if (d.args.length > 1) {
    throw valueError(
      d,
      `too many values for ${quoteValue(d.name)}, given ${d.args.length} (${givenArgs(d)}): expected one, ${expected}`,
    );
  }
  return first;
}

function invalid(d: Directive, given: string, expected: string): ConfError {
  return valueError(d, `invalid value ${quoteValue(given)} for ${quoteValue(d.name)}: expected ${expected}`);
}

/**
 * An on/off switch read as SRS reads it (SRS_CONF_PREFER_TRUE / SRS_CONF_PREFER_FALSE in
 * srs_app_config.cpp): for a switch that is on by default only "off" turns it off, and for
 * one that is off by default only "on" turns it on. Any other word is read that way too,
 * so that a config SRS accepts starts, with a warning.
 */
export function readFlag(d: Directive, ctx: ConfigContext, defaultValue: boolean): boolean {
  const value = oneArg(d, "on|off");
  if (value === "on") return true;
  if (value === "off") return false;
  const how = defaultValue
    ? `read as on, as SRS does (only "off" turns off a switch that is on by default)`
    : `read as off, as SRS does (only "on" turns on a switch that is off by default)`;
  ctx.warn(d, `${quoteValue(d.name)} expects on|off, given ${quoteValue(value)}: ${how}`);
  return defaultValue;
}

function describeRange(min: number, max: number): string {
  return max >= INT32_MAX ? `an integer >= ${min}` : `an integer ${min}..${max}`;
}

/** A decimal integer in min..max. SRS's atoi would read "10s" as 10 and "x" as 0; we refuse both. */
export function readInteger(d: Directive, min: number, max = INT32_MAX): number {
  const expected = describeRange(min, max);
  const value = oneArg(d, expected);
  if (!/^[0-9]{1,10}$/.test(value)) throw invalid(d, value, expected);
  const n = Number(value);
  if (n < min || n > max) throw invalid(d, value, expected);
  return n;
}

/** A decimal number (fraction allowed) in min..max. */
export function readNumber(d: Directive, min: number, max: number, unit: string): number {
  const expected = `a number of ${unit} ${min}..${max}`;
  const value = oneArg(d, expected);
  if (!/^[0-9]{1,10}(\.[0-9]{1,9})?$/.test(value)) throw invalid(d, value, expected);
  const n = Number(value);
  if (n < min || n > max) throw invalid(d, value, expected);
  return n;
}

/** One of a fixed set of words. */
export function readChoice<T extends string>(d: Directive, choices: readonly T[]): T {
  const expected = choices.join("|");
  const value = oneArg(d, expected);
  const found = choices.find((c) => c === value);
  if (found === undefined) throw invalid(d, value, expected);
  return found;
}

/** A non-empty word such as a path. */
export function readString(d: Directive, what: string): string {
  const value = oneArg(d, what);
  if (value === "") throw invalid(d, value, what);
  return value;
}

/**
 * The addresses of `listen`: `PORT` (any IPv4 address, as SRS's default listener),
 * `IP:PORT`, or `[IPv6]:PORT`. As SRS's srs_parse_endpoint, the port follows the last ':',
 * so `::1:1935` also reads as host ::1; as SRS's srs_check_ip_addr_valid, the host must be
 * an IP address, not a name.
 */
export function readListen(d: Directive): ListenAddress[] {
  const expected = "[IP:]PORT, e.g. 1935, 127.0.0.1:1935 or [::1]:1935";
  if (d.args.length === 0) throw valueError(d, `missing value for ${quoteValue(d.name)}: expected ${expected}`);
  return d.args.map((arg) => {
    const colon = arg.lastIndexOf(":");
    let host = "0.0.0.0";
    let portText = arg;
    if (colon >= 0) {
      host = arg.slice(0, colon);
      portText = arg.slice(colon + 1);
      if (host.length >= 2 && host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
      if (isIP(host) === 0) {
        throw valueError(
          d,
          `invalid address ${quoteValue(arg)} for ${quoteValue(d.name)}: expected an IP address before the port, given ${quoteValue(host)}`,
        );
      }
    }
    const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
    if (!(port >= 1 && port <= 65535)) {
      throw valueError(
        d,
        `invalid address ${quoteValue(arg)} for ${quoteValue(d.name)}: expected a port 1..65535, given ${quoteValue(portText)}`,
      );
    }
    return { host, port };
  });
}
