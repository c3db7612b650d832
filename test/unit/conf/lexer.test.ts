import { describe, it, expect } from "vitest";
import { ConfLexer, type Token } from "../../../src/conf/lexer.js";
import { catchConfError } from "./catch-conf-error.js";

function tokens(text: string): Token[] {
  const lexer = new ConfLexer(text, "t.conf");
  const out: Token[] = [];
  for (;;) {
    const t = lexer.next();
    out.push(t);
    if (t.kind === "eof") return out;
  }
}

function words(text: string): string[] {
  return tokens(text).map((t) => (t.kind === "word" ? t.text : t.kind));
}

describe("ConfLexer", () => {
  it("splits words and punctuation with their line and column", () => {
    const t = tokens("listen 1935;\nvhost a {\n    }");
    expect(t.map((x) => [x.kind, x.text, x.line, x.column])).toEqual([
      ["word", "listen", 1, 1],
      ["word", "1935", 1, 8],
      [";", "", 1, 12],
      ["word", "vhost", 2, 1],
      ["word", "a", 2, 7],
      ["{", "", 2, 9],
      ["}", "", 3, 5],
      ["eof", "", 3, 6],
    ]);
  });

  it("ends a bare word at whitespace, ';', '{' and '}'", () => {
    expect(words("play{gop_cache on;}")).toEqual(["play", "{", "gop_cache", "on", ";", "}", "eof"]);
    expect(words("a\tb\r\nc")).toEqual(["a", "b", "c", "eof"]);
  });

  it("skips comments to the end of the line, but keeps '#' inside a word", () => {
    expect(words("# a comment ; {\nlisten 1935; # trailing }\nmount a#b;")).toEqual([
      "listen",
      "1935",
      ";",
      "mount",
      "a#b",
      ";",
      "eof",
    ]);
  });

  it("reads quoted words holding spaces, ';', '{', '}' and '#'", () => {
    expect(words(`vf 'split [a]; {b} #c';`)).toEqual(["vf", "split [a]; {b} #c", ";", "eof"]);
    expect(words(`device_id "my srs device";`)).toEqual(["device_id", "my srs device", ";", "eof"]);
    const t = tokens(`a "x";`);
    expect(t[1]).toMatchObject({ kind: "word", text: "x", quoted: true, line: 1, column: 3 });
  });

  it("unescapes a backslash before the quote character and keeps other backslashes", () => {
    expect(words(String.raw`a "say \"hi\"" 'it\'s' "C:\dir\n" 'x\"y';`)).toEqual([
      "a",
      `say "hi"`,
      "it's",
      String.raw`C:\dir\n`,
      String.raw`x\"y`,
      ";",
      "eof",
    ]);
  });

  it("keeps an empty quoted word and a quote inside a bare word", () => {
    expect(words(`a "" it's;`)).toEqual(["a", "", "it's", ";", "eof"]);
  });

  it("skips a UTF-8 byte order mark", () => {
    expect(tokens("\ufefflisten 1;")[0]).toMatchObject({ text: "listen", line: 1, column: 1 });
  });

  it("refuses an unterminated quote at the quote, before the end of the line", () => {
    const err = catchConfError(() => tokens(`a 1;\nmount "abc;\nb 2;`));
    expect(err.code).toBe("ERR_CONF_SYNTAX");
    expect(err.message).toBe(`t.conf:2:7: unterminated quoted string: expected a closing " before the end of the line`);
    expect(catchConfError(() => tokens("a 'abc")).message).toBe(
      "t.conf:1:3: unterminated quoted string: expected a closing ' before the end of the file",
    );
  });

  it("refuses a character glued after a closing quote", () => {
    const err = catchConfError(() => tokens(`a "x"y;`));
    expect(err.code).toBe("ERR_CONF_SYNTAX");
    expect(err.message).toBe(`t.conf:1:6: expected whitespace, ';' or '{' after the closing ", found "y"`);
  });
});
