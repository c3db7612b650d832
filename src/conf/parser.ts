import * as fs from "node:fs";
import * as path from "node:path";
import { ConfError, formatPosition, quoteValue, type ConfPosition } from "./conf-error.js";
import { ConfLexer, describeToken, type Token } from "./lexer.js";

/**
 * One directive of the file: `name args...;` or, with `children`, a block
 * `name args... { children }`. `include` never appears: the files it names are inlined.
 */
export interface Directive {
  name: string;
  args: string[];
  /** Present for a block (possibly empty), absent for a plain directive. */
  children?: Directive[];
  /** The file as it was named: the path given to the loader, or an include's argument. */
  file: string;
  line: number;
  column: number;
}

/**
 * Bounds that keep hostile or broken input from hanging the loader or exhausting memory or
 * the stack. SRS's own files are far below them (full.conf: 100 KiB, ~1,400 directives,
 * depth 5).
 */
export const CONF_LIMITS = Object.freeze({
  /** Size of one file. */
  maxFileBytes: 4 * 1024 * 1024,
  /** Size of the main file and every included file together. */
  maxTotalBytes: 16 * 1024 * 1024,
  /** Nesting of blocks, counted across included files. */
  maxBlockDepth: 32,
  /** Nesting of includes. */
  maxIncludeDepth: 16,
  /** Files read through `include`, counting each time a file is included. */
  maxIncludedFiles: 256,
  /** Directives in all files together. */
  maxDirectives: 200_000,
});

export interface ParseOptions {
  /** Where relative include paths resolve; process.cwd() by default, as SRS does. */
  cwd?: string;
}

/** Parses the config file `file` (relative to the working directory) and its includes. */
export function parseConfFile(file: string, options: ParseOptions = {}): Directive[] {
  const cwd = options.cwd ?? process.cwd();
  const parser = new ConfParser(cwd);
  const at: ConfPosition = { file, line: 1, column: 1 };
  const { text, identity } = parser.readFile(file, at, "the config file", "");
  return parser.parseFile(text, file, identity);
}

/** Parses config text as if read from `fileName`; includes are read from disk. */
export function parseConfText(text: string, fileName: string, options: ParseOptions = {}): Directive[] {
  const cwd = options.cwd ?? process.cwd();
  const parser = new ConfParser(cwd);
  const bytes = Buffer.byteLength(text, "utf8");
  parser.countBytes(bytes, { file: fileName, line: 1, column: 1 }, "");
  return parser.parseFile(text, fileName, fileIdentity(path.resolve(cwd, fileName)));
}

interface IncludeFrame {
  /** The real path of the file, to find cycles whatever the spelling of the include. */
  identity: string;
  /** The file as named, for messages. */
  file: string;
  /** Where it was included from, for messages; undefined for the main file. */
  from?: ConfPosition;
}

function fileIdentity(resolved: string): string {
  try {
    return fs.realpathSync(resolved);
  } catch {
    return resolved;
  }
}

function errnoText(err: unknown): string {
  if (err && typeof err === "object" && "code" in err) {
    const code = (err as { code: unknown }).code;
    if (code === "ENOENT") return "no such file";
    if (code === "EACCES" || code === "EPERM") return "permission denied";
    if (code === "EISDIR") return "it is a directory";
    if (typeof code === "string") return code;
  }
  return err instanceof Error ? err.message : String(err);
}

/** The recursive-descent parser of SRS's SrsConfDirective::parse_conf, with includes. */
class ConfParser {
  private totalBytes = 0;
  private includedFiles = 0;
  private directives = 0;

  constructor(private readonly cwd: string) {}

  countBytes(bytes: number, at: ConfPosition, suffix: string): void {
    if (bytes > CONF_LIMITS.maxFileBytes) {
      throw new ConfError(
        "ERR_CONF_SYNTAX",
        at,
        `config file is ${bytes} bytes: expected at most ${CONF_LIMITS.maxFileBytes} bytes${suffix}`,
      );
    }
    this.totalBytes += bytes;
    if (this.totalBytes > CONF_LIMITS.maxTotalBytes) {
      throw new ConfError(
        "ERR_CONF_INCLUDE",
        at,
        `config files together exceed ${CONF_LIMITS.maxTotalBytes} bytes${suffix}`,
      );
    }
  }

  /**
   * Reads a file, refusing what is not a regular file (opening a FIFO would block, and
   * /dev/zero never ends) and what is too large, and never reading more than the limit.
   * Errors point at `at`: the include directive, or the start of the main file.
   */
  readFile(file: string, at: ConfPosition, what: string, suffix: string): { text: string; identity: string } {
    const resolved = path.resolve(this.cwd, file);
    const fail = (reason: string, cause?: unknown): ConfError =>
      new ConfError(
        "ERR_CONF_INCLUDE",
        at,
        `cannot read ${what} ${quoteValue(file, 200)}: ${reason}` +
          (path.isAbsolute(file) ? "" : ` (relative paths resolve against the working directory ${this.cwd})`) +
          suffix,
        cause === undefined ? undefined : { cause },
      );
    const checkType = (stat: fs.Stats): void => {
      if (stat.isDirectory()) throw fail("it is a directory");
      if (!stat.isFile()) throw fail("expected a regular file");
    };
    let data: Buffer;
    try {
      // stat by path before opening, since opening a FIFO blocks; fstat again after, in case
      // the path was swapped in between.
      checkType(fs.statSync(resolved));
      const fd = fs.openSync(resolved, "r");
      try {
        const stat = fs.fstatSync(fd);
        checkType(stat);
        // Refused before reading when it is already too large.
        if (stat.size > CONF_LIMITS.maxFileBytes) this.countBytes(stat.size, at, suffix);
        // Read at most one byte past the limit, even if the file grows meanwhile.
        let buffer = Buffer.alloc(stat.size + 1);
        let length = 0;
        for (;;) {
          if (length === buffer.length) {
            if (length > CONF_LIMITS.maxFileBytes) break;
            const bigger = Buffer.alloc(Math.min(buffer.length * 2, CONF_LIMITS.maxFileBytes + 1));
            buffer.copy(bigger, 0, 0, length);
            buffer = bigger;
          }
          const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
          if (n === 0) break;
          length += n;
        }
        data = buffer.subarray(0, length);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      if (err instanceof ConfError) throw err;
      throw fail(errnoText(err), err);
    }
    this.countBytes(data.length, at, suffix);
    return { text: data.toString("utf8"), identity: fileIdentity(resolved) };
  }

  /** Parses the main file: the bottom of the include stack. */
  parseFile(text: string, file: string, identity: string): Directive[] {
    const out: Directive[] = [];
    this.parseBody(new ConfLexer(text, file), file, 0, undefined, out, [{ identity, file }], "");
    return out;
  }

  /**
   * Reads directives until the `}` closing `opener`, or until the end of the file when there
   * is no opener. Included directives are appended to `out` in place.
   */
  private parseBody(
    lexer: ConfLexer,
    file: string,
    depth: number,
    opener: Directive | undefined,
    out: Directive[],
    stack: IncludeFrame[],
    suffix: string,
  ): void {
    const syntax = (at: { line: number; column: number }, message: string): ConfError =>
      new ConfError("ERR_CONF_SYNTAX", { file, ...at }, message + suffix);

    for (;;) {
      const token = lexer.next();
      switch (token.kind) {
        case "eof":
          if (opener) {
            throw syntax(opener, `expected '}' to close the block ${quoteValue(opener.name)}, found end of file`);
          }
          return;
        case "}":
          if (opener) return;
          throw syntax(token, "unexpected '}': no block is open here");
        case ";":
          throw syntax(token, "empty directive: expected a directive name before ';'");
        case "{":
          throw syntax(token, "expected a directive name before '{'");
        case "word":
          break;
      }

      this.directives++;
      if (this.directives > CONF_LIMITS.maxDirectives) {
        throw syntax(token, `too many directives: expected at most ${CONF_LIMITS.maxDirectives}`);
      }

      const directive: Directive = { name: token.text, args: [], file, line: token.line, column: token.column };
      const end = this.readArgs(lexer, directive, syntax);

      if (directive.name === "include") {
        if (end.kind === "{") throw syntax(end, `expected ';' after "include FILE", found '{': include is not a block`);
        this.include(directive, depth, out, stack, suffix);
        continue;
      }

      out.push(directive);
      if (end.kind === "{") {
        if (depth + 1 > CONF_LIMITS.maxBlockDepth) {
          throw syntax(directive, `blocks nested too deep: expected at most ${CONF_LIMITS.maxBlockDepth} levels`);
        }
        directive.children = [];
        this.parseBody(lexer, file, depth + 1, directive, directive.children, stack, suffix);
      }
    }
  }

  /** Reads a directive's arguments; returns the `;` or `{` that ends them. */
  private readArgs(
    lexer: ConfLexer,
    directive: Directive,
    syntax: (at: { line: number; column: number }, message: string) => ConfError,
  ): Token {
    for (;;) {
      const token = lexer.next();
      // As SRS since 6.0.135 (read_token fails on "unexpected end of line"), a directive ends
      // on the line it starts, so a missing ';' is reported where it is missing instead of
      // silently taking the next line's directive as arguments (as SRS 1-5 did).
      if (token.kind !== "eof" && token.line !== directive.line) {
        throw syntax(
          directive,
          `expected ';' or '{' after directive ${quoteValue(directive.name)} on the same line, found ${describeToken(token)} on line ${token.line}`,
        );
      }
      if (token.kind === "word") {
        directive.args.push(token.text);
        continue;
      }
      if (token.kind === ";" || token.kind === "{") return token;
      // At the end of the file the useful place is the directive left open, not the file's end.
      const at = token.kind === "eof" ? directive : token;
      throw syntax(
        at,
        `expected ';' or '{' after directive ${quoteValue(directive.name)}, found ${describeToken(token)}`,
      );
    }
  }

  /**
   * `include FILE...;` inlines each file where the directive stands, as SRS does (several
   * files allowed, inside a block too). Relative paths resolve against the working
   * directory, not the including file: SRS opens them as given.
   */
  private include(directive: Directive, depth: number, out: Directive[], stack: IncludeFrame[], suffix: string): void {
    const at: ConfPosition = directive;
    if (directive.args.length === 0) {
      throw new ConfError("ERR_CONF_INCLUDE", at, `expected a file after "include"${suffix}`);
    }
    for (const file of directive.args) {
      if (file === "") throw new ConfError("ERR_CONF_INCLUDE", at, `expected a file after "include", found ""${suffix}`);
      // The stack holds the main file and one frame per include level.
      if (stack.length > CONF_LIMITS.maxIncludeDepth) {
        throw new ConfError(
          "ERR_CONF_INCLUDE",
          at,
          `includes nested too deep including ${quoteValue(file, 200)}: expected at most ${CONF_LIMITS.maxIncludeDepth} levels${suffix}`,
        );
      }
      this.includedFiles++;
      if (this.includedFiles > CONF_LIMITS.maxIncludedFiles) {
        throw new ConfError(
          "ERR_CONF_INCLUDE",
          at,
          `too many includes: expected at most ${CONF_LIMITS.maxIncludedFiles} included files${suffix}`,
        );
      }
      const identity = fileIdentity(path.resolve(this.cwd, file));
      const cycleStart = stack.findIndex((frame) => frame.identity === identity);
      if (cycleStart >= 0) {
        const chain = [...stack.slice(cycleStart).map((frame) => frame.file), file].join(" -> ");
        throw new ConfError("ERR_CONF_INCLUDE", at, `include cycle: ${chain}${suffix}`);
      }
      const { text, identity: real } = this.readFile(file, at, "included file", suffix);
      const frame: IncludeFrame = { identity: real, file, from: at };
      const innerStack = [...stack, frame];
      const innerSuffix = includedFromSuffix(innerStack);
      const lexer = new ConfLexer(text, file, innerSuffix);
      this.parseBody(lexer, file, depth, undefined, out, innerStack, innerSuffix);
    }
  }
}

/** " (included from b.conf:2:5, from a.conf:7:1)" for an error inside an included file. */
function includedFromSuffix(stack: IncludeFrame[]): string {
  const froms: string[] = [];
  for (let i = stack.length - 1; i >= 0; i--) {
    const from = stack[i]?.from;
    if (from) froms.push(formatPosition(from));
  }
  return froms.length === 0 ? "" : ` (included from ${froms.join(", from ")})`;
}
