import { ConfError, quoteValue } from "./conf-error.js";

/**
 * The tokenizer of SRS's nginx-style config dialect (SRS's SrsConfDirective::read_token, which
 * follows nginx's ngx_conf_read_token).
 *
 * - Whitespace is space, tab, CR and LF (SRS's is_common_space); lines are counted at LF.
 * - `#` at the start of a word begins a comment to the end of the line; inside a word it is
 *   a plain character (`a#b` is one word), as in SRS and nginx.
 * - A word starting with `"` or `'` runs to the same quote on the same line and may hold
 *   spaces, `;`, `{`, `}` and `#`. A backslash before that quote character escapes it
 *   (`"say \"hi\""`); any other backslash is kept as written, so ffmpeg filter strings and
 *   Windows paths read as in SRS. A quote in the middle of a bare word is a plain character.
 *   After a closing quote comes whitespace, `;`, `{` or `}` (SRS requires a separator too).
 * - A bare word ends at whitespace, `;`, `{` or `}`.
 *
 * As SRS 6 (since 6.0.135), a quoted word ends on its line, and the parser wants a directive
 * to end on the line it starts. An empty quoted word `""` is kept as an empty argument where
 * SRS drops it; the value readers treat both alike.
 */
export type TokenKind = "word" | ";" | "{" | "}" | "eof";

export interface Token {
  readonly kind: TokenKind;
  /** The word's text with quotes removed and escapes applied; "" for punctuation and eof. */
  readonly text: string;
  readonly quoted: boolean;
  readonly line: number;
  readonly column: number;
}

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const DQUOTE = 0x22;
const HASH = 0x23;
const SQUOTE = 0x27;
const SEMICOLON = 0x3b;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === CR;
}

function endsBareWord(c: number): boolean {
  return isSpace(c) || c === SEMICOLON || c === LBRACE || c === RBRACE;
}

export class ConfLexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;

  /**
   * @param suffix appended to every error message, e.g. " (included from a.conf:3:1)".
   */
  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly suffix = "",
  ) {
    // A UTF-8 byte order mark is not part of the first directive.
    if (text.charCodeAt(0) === 0xfeff) {
      this.pos = 1;
      this.lineStart = 1;
    }
  }

  next(): Token {
    this.skipSpaceAndComments();
    const line = this.line;
    const column = this.pos - this.lineStart + 1;
    if (this.pos >= this.text.length) return { kind: "eof", text: "", quoted: false, line, column };
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case SEMICOLON:
        this.pos++;
        return { kind: ";", text: "", quoted: false, line, column };
      case LBRACE:
        this.pos++;
        return { kind: "{", text: "", quoted: false, line, column };
      case RBRACE:
        this.pos++;
        return { kind: "}", text: "", quoted: false, line, column };
      case DQUOTE:
      case SQUOTE:
        return this.readQuoted(c, line, column);
      default:
        return this.readBare(line, column);
    }
  }

  private skipSpaceAndComments(): void {
    const text = this.text;
    const n = text.length;
    while (this.pos < n) {
      const c = text.charCodeAt(this.pos);
      if (c === LF) {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === SPACE || c === TAB || c === CR) {
        this.pos++;
      } else if (c === HASH) {
        const eol = text.indexOf("\n", this.pos);
        this.pos = eol < 0 ? n : eol;
      } else {
        return;
      }
    }
  }

  private readBare(line: number, column: number): Token {
    const text = this.text;
    const n = text.length;
    const start = this.pos;
    let i = start;
    while (i < n && !endsBareWord(text.charCodeAt(i))) i++;
    this.pos = i;
    return { kind: "word", text: text.slice(start, i), quoted: false, line, column };
  }

  private readQuoted(quote: number, line: number, column: number): Token {
    const text = this.text;
    const n = text.length;
    const q = String.fromCharCode(quote);
    let value = "";
    let i = this.pos + 1;
    let segment = i;
    for (;;) {
      if (i >= n || text.charCodeAt(i) === LF) {
        const where = i >= n ? "the end of the file" : "the end of the line";
        throw this.error({ line, column }, `unterminated quoted string: expected a closing ${q} before ${where}`);
      }
      const c = text.charCodeAt(i);
      if (c === BACKSLASH && i + 1 < n && text.charCodeAt(i + 1) === quote) {
        value += text.slice(segment, i) + q;
        i += 2;
        segment = i;
        continue;
      }
      if (c === quote) {
        value += text.slice(segment, i);
        i++;
        break;
      }
      i++;
    }
    this.pos = i;
    if (i < n && !endsBareWord(text.charCodeAt(i))) {
      throw this.error(
        { line: this.line, column: i - this.lineStart + 1 },
        `expected whitespace, ';' or '{' after the closing ${q}, found ${quoteValue(text.charAt(i))}`,
      );
    }
    return { kind: "word", text: value, quoted: true, line, column };
  }

  private error(at: { line: number; column: number }, message: string): ConfError {
    return new ConfError("ERR_CONF_SYNTAX", { file: this.file, ...at }, message + this.suffix);
  }
}

/** How a token is named in "expected X, found Y" messages. */
export function describeToken(token: Token): string {
  switch (token.kind) {
    case "eof":
      return "end of file";
    case "word":
      return `${token.quoted ? "quoted string " : ""}${quoteValue(token.text)}`;
    default:
      return `'${token.kind}'`;
  }
}
