import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { SluiceError, type ErrorCode } from "../../../../src/core/errors.js";
import {
  AMF0_MAX_DEPTH,
  AMF0_MAX_ENCODED_SIZE,
  Amf0Date,
  Amf0EcmaArray,
  Amf0ReferenceTable,
  Amf0TypedObject,
  Amf0XmlDocument,
  createAmf0Object,
  decodeAmf0,
  decodeAmf0Value,
  encodeAmf0,
  type Amf0Object,
  type Amf0Value,
} from "../../../../src/protocol/rtmp/amf0.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
/** Bytes of an ASCII string, for readability inside hex tables. */
const ascii = (s: string): string => Buffer.from(s, "latin1").toString("hex");

const AMF0_CODES: readonly ErrorCode[] = [
  "ERR_AMF0_TRUNCATED",
  "ERR_AMF0_TYPE",
  "ERR_AMF0_DEPTH",
  "ERR_AMF0_REFERENCE",
];

function errorOf(fn: () => unknown): SluiceError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SluiceError) return err;
    throw new Error(`expected a SluiceError, got ${String(err)}`, { cause: err });
  }
  throw new Error("expected an error, got none");
}

const codeOf = (fn: () => unknown): ErrorCode => errorOf(fn).code;

function obj(entries: Record<string, Amf0Value>): Amf0Object {
  return Object.assign(createAmf0Object(), entries);
}

// One row per type: bytes written out by hand from the AMF0 spec, the value they decode to,
// and whether encodeAmf0(value) gives the same bytes back (some types have one JS form for
// two wire forms).
interface Row {
  name: string;
  bytes: string;
  value: Amf0Value;
  canonical: boolean;
}

const NUMBER_ONE = "00 3F F0 00 00 00 00 00 00";

const rows: Row[] = [
  { name: "number 1.0 (2.2)", bytes: NUMBER_ONE, value: 1, canonical: true },
  { name: "number 0", bytes: "00 00 00 00 00 00 00 00 00", value: 0, canonical: true },
  { name: "number -0", bytes: "00 80 00 00 00 00 00 00 00", value: -0, canonical: true },
  { name: "number -2.5", bytes: "00 C0 04 00 00 00 00 00 00", value: -2.5, canonical: true },
  { name: "number 1935", bytes: "00 40 9E 3C 00 00 00 00 00", value: 1935, canonical: true },
  { name: "number +Infinity", bytes: "00 7F F0 00 00 00 00 00 00", value: Infinity, canonical: true },
  { name: "boolean true (2.3)", bytes: "01 01", value: true, canonical: true },
  { name: "boolean false", bytes: "01 00", value: false, canonical: true },
  { name: "boolean 0x02 is true", bytes: "01 02", value: true, canonical: false },
  { name: "empty string (2.4)", bytes: "02 00 00", value: "", canonical: true },
  { name: "string", bytes: `02 00 04 ${ascii("live")}`, value: "live", canonical: true },
  { name: "string in UTF-8, not latin1", bytes: "02 00 02 C3 A9", value: "é", canonical: true },
  { name: "string of 3-byte UTF-8", bytes: "02 00 06 E6 97 A5 E6 9C AC", value: "日本", canonical: true },
  { name: "string of a 4-byte UTF-8 code point", bytes: "02 00 04 F0 9F 8E A5", value: "🎥", canonical: true },
  { name: "invalid UTF-8 becomes U+FFFD", bytes: "02 00 01 FF", value: "\ufffd", canonical: false },
  { name: "short long string (2.14)", bytes: `0C 00 00 00 03 ${ascii("abc")}`, value: "abc", canonical: false },
  {
    name: "object (2.5)",
    bytes: `03 00 01 ${ascii("a")} ${NUMBER_ONE} 00 00 09`,
    value: obj({ a: 1 }),
    canonical: true,
  },
  { name: "empty object", bytes: "03 00 00 09", value: obj({}), canonical: true },
  { name: "null (2.7)", bytes: "05", value: null, canonical: true },
  { name: "undefined (2.8)", bytes: "06", value: undefined, canonical: true },
  { name: "unsupported (2.15) reads as undefined", bytes: "0D", value: undefined, canonical: false },
  {
    name: "ECMA array (2.10)",
    bytes: `08 00 00 00 01 00 08 ${ascii("duration")} 00 40 24 00 00 00 00 00 00 00 00 09`,
    value: new Amf0EcmaArray(obj({ duration: 10 })),
    canonical: true,
  },
  {
    name: "ECMA array whose count says 7 for 1 entry",
    bytes: `08 00 00 00 07 00 08 ${ascii("duration")} 00 40 24 00 00 00 00 00 00 00 00 09`,
    value: new Amf0EcmaArray(obj({ duration: 10 })),
    canonical: false,
  },
  {
    name: "ECMA array whose count says 0 for 1 entry",
    bytes: `08 00 00 00 00 00 01 ${ascii("w")} 00 40 24 00 00 00 00 00 00 00 00 09`,
    value: new Amf0EcmaArray(obj({ w: 10 })),
    canonical: false,
  },
  {
    name: "strict array (2.12)",
    bytes: `0A 00 00 00 02 ${NUMBER_ONE} 02 00 01 ${ascii("a")}`,
    value: [1, "a"],
    canonical: true,
  },
  { name: "empty strict array", bytes: "0A 00 00 00 00", value: [], canonical: true },
  { name: "date (2.13)", bytes: "0B 3F F0 00 00 00 00 00 00 00 00", value: new Amf0Date(1, 0), canonical: true },
  {
    name: "date with a time zone of -60",
    bytes: "0B 42 76 0A F0 49 00 00 00 FF C4",
    value: new Amf0Date(1514764800000, -60),
    canonical: true,
  },
  {
    name: "XML document (2.17)",
    bytes: `0F 00 00 00 08 ${ascii("<a>x</a>")}`,
    value: new Amf0XmlDocument("<a>x</a>"),
    canonical: true,
  },
  {
    name: "typed object (2.18)",
    bytes: `10 00 03 ${ascii("Foo")} 00 01 ${ascii("x")} 05 00 00 09`,
    value: new Amf0TypedObject("Foo", obj({ x: null })),
    canonical: true,
  },
  {
    name: "an empty key before a value is the property \"\"",
    bytes: `03 00 00 01 01 00 00 09`,
    value: obj({ "": true }),
    canonical: false,
  },
];

/** The first command ffmpeg 5.1.9 (Lavf59.27.100) sends when publishing to rtmp://127.0.0.1:1935/live/...,
 * captured from the wire (payload of the type-20 message, chunk headers removed); rtmpproto.c
 * gen_connect writes these fields in this order. */
const FFMPEG_CONNECT = hex(`
  02 0007 ${ascii("connect")}
  00 3FF0000000000000
  03
    0003 ${ascii("app")}      02 0004 ${ascii("live")}
    0004 ${ascii("type")}     02 000A ${ascii("nonprivate")}
    0008 ${ascii("flashVer")} 02 0024 ${ascii("FMLE/3.0 (compatible; Lavf59.27.100)")}
    0005 ${ascii("tcUrl")}    02 001A ${ascii("rtmp://127.0.0.1:1935/live")}
  00 00 09
`);

describe("AMF0 byte tables", () => {
  for (const row of rows) {
    it(`decodes ${row.name}`, () => {
      const bytes = hex(row.bytes);
      const { value, next } = decodeAmf0Value(bytes, 0);
      expect(value).toEqual(row.value);
      expect(Object.is(value, row.value) || typeof value === "object").toBe(true); // keeps -0
      expect(next).toBe(bytes.length);
      if (row.value !== null && typeof row.value === "object") {
        expect(Object.getPrototypeOf(value)).toBe(Object.getPrototypeOf(row.value));
      }
    });
    if (row.canonical) {
      it(`encodes ${row.name}`, () => {
        expect(encodeAmf0(row.value).toString("hex")).toBe(hex(row.bytes).toString("hex"));
      });
    }
  }

  it("decodes the ffmpeg connect command", () => {
    expect(FFMPEG_CONNECT.length).toBe(139);
    const values = decodeAmf0(FFMPEG_CONNECT);
    expect(values).toEqual([
      "connect",
      1,
      {
        app: "live",
        type: "nonprivate",
        flashVer: "FMLE/3.0 (compatible; Lavf59.27.100)",
        tcUrl: "rtmp://127.0.0.1:1935/live",
      },
    ]);
    expect(Object.keys(values[2] as Amf0Object)).toEqual(["app", "type", "flashVer", "tcUrl"]);
  });

  it("encodes the ffmpeg connect command byte for byte", () => {
    const bytes = encodeAmf0("connect", 1, {
      app: "live",
      type: "nonprivate",
      flashVer: "FMLE/3.0 (compatible; Lavf59.27.100)",
      tcUrl: "rtmp://127.0.0.1:1935/live",
    });
    expect(bytes.toString("hex")).toBe(FFMPEG_CONNECT.toString("hex"));
  });

  it("decodes from an offset", () => {
    const bytes = hex(`FF FF 05 ${NUMBER_ONE}`);
    expect(decodeAmf0(bytes, 2)).toEqual([null, 1]);
    expect(decodeAmf0Value(bytes, 3)).toEqual({ value: 1, next: 12 });
    expect(decodeAmf0(bytes, bytes.length)).toEqual([]);
    expect(codeOf(() => decodeAmf0(bytes, 13))).toBe("ERR_AMF0_TRUNCATED");
    expect(codeOf(() => decodeAmf0Value(bytes, -1))).toBe("ERR_AMF0_TRUNCATED");
  });

  it("writes strings over 65535 bytes as long strings and reads them back", () => {
    const short = "x".repeat(0xffff);
    const long = "x".repeat(0x10000);
    expect(encodeAmf0(short).subarray(0, 3).toString("hex")).toBe("02ffff");
    expect(encodeAmf0(long).subarray(0, 5).toString("hex")).toBe("0c00010000");
    // the limit is in bytes, not characters: 32768 two-byte characters take 65536 bytes
    const wide = "é".repeat(0x8000);
    expect(encodeAmf0(wide).subarray(0, 5).toString("hex")).toBe("0c00010000");
    expect(decodeAmf0(encodeAmf0(short, long, wide))).toEqual([short, long, wide]);
  });

  it("keeps an ECMA array an Amf0EcmaArray through decode and encode (onMetaData)", () => {
    const meta = hex(
      `02 000A ${ascii("onMetaData")} 08 00000002
         0005 ${ascii("width")} 00 4094000000000000
         0006 ${ascii("height")} 00 4086800000000000
       000009`,
    );
    const values = decodeAmf0(meta);
    expect(values[1]).toBeInstanceOf(Amf0EcmaArray);
    expect((values[1] as Amf0EcmaArray).entries).toEqual({ width: 1280, height: 720 });
    expect(encodeAmf0(...values).toString("hex")).toBe(meta.toString("hex"));
  });

  it("re-encodes typed objects, dates and XML documents as their own types", () => {
    const values = decodeAmf0(hex(rows.filter((r) => /\(2\.1[378]\)/.test(r.name)).map((r) => r.bytes).join("")));
    expect(values[0]).toBeInstanceOf(Amf0Date);
    expect(values[1]).toBeInstanceOf(Amf0XmlDocument);
    expect(values[2]).toBeInstanceOf(Amf0TypedObject);
    expect((values[2] as Amf0TypedObject).className).toBe("Foo");
  });

  it("converts Amf0Date to and from Date", () => {
    const d = new Date(Date.UTC(2018, 0, 1));
    expect(Amf0Date.fromDate(d)).toEqual(new Amf0Date(1514764800000, 0));
    expect(new Amf0Date(1514764800000, -60).toDate().getTime()).toBe(d.getTime());
  });
});

describe("AMF0 type errors", () => {
  it.each([
    ["movieclip 0x04 (reserved)", "04", /reserved/],
    ["recordset 0x0E (reserved)", "0E", /reserved/],
    ["AVM+ switch 0x11", "11 06", /AMF3 is not supported/],
    ["unknown marker 0x12", "12", /0x12 at byte 0/],
    ["unknown marker 0xFF", "FF", /0xff/],
    ["bare object-end marker", "09", /outside an object/],
    ["object end after a non-empty key", `03 00 01 ${ascii("a")} 09`, /non-empty property name "a"/],
  ])("rejects %s with ERR_AMF0_TYPE", (_name, bytes, message) => {
    const err = errorOf(() => decodeAmf0(hex(bytes)));
    expect(err.code).toBe("ERR_AMF0_TYPE");
    expect(err.message).toMatch(message);
  });

  it("names the byte offset of a bad marker inside a command", () => {
    const bytes = Buffer.concat([encodeAmf0("connect", 1), hex("11")]);
    const err = errorOf(() => decodeAmf0(bytes));
    expect(err.code).toBe("ERR_AMF0_TYPE");
    expect(err.message).toContain(`at byte ${bytes.length - 1}`);
  });
});

describe("AMF0 truncation", () => {
  // A strict array holding one of every type, so every cut point lands inside some value.
  // Reference indices: the array #0, {a: 1} #1, the ECMA array #2, [1, "a"] #3, Foo #4.
  const everything = hex(`
    0A 0000000F
      ${NUMBER_ONE}
      01 01
      02 0004 ${ascii("live")}
      02 0002 C3A9
      03 0001 ${ascii("a")} ${NUMBER_ONE} 000009
      05
      06
      08 00000001 0008 ${ascii("duration")} 00 4024000000000000 000009
      0A 00000002 ${NUMBER_ONE} 02 0001 ${ascii("a")}
      0B 42760AF049000000 FFC4
      0F 00000008 ${ascii("<a>x</a>")}
      10 0003 ${ascii("Foo")} 0001 ${ascii("x")} 05 000009
      0C 00000003 ${ascii("abc")}
      0D
      07 0001
  `);

  it("builds the all-types fixture as intended", () => {
    const [arr] = decodeAmf0(everything) as [Amf0Value[]];
    expect(arr).toHaveLength(15);
    expect(arr[4]).toEqual({ a: 1 });
    expect(arr[14]).toBe(arr[4]);
    expect(arr[11]).toEqual(new Amf0TypedObject("Foo", obj({ x: null })));
  });

  const samples: [string, Buffer][] = [
    ["every type", everything],
    ["the ffmpeg connect object", FFMPEG_CONNECT.subarray(19)],
    ["a long string", hex(`0C 00000004 ${ascii("abcd")}`)],
    ["a typed object", hex(`10 0003 ${ascii("Foo")} 0001 ${ascii("x")} 05 000009`)],
    ["an ECMA array", hex(`08 00000001 0001 ${ascii("x")} ${NUMBER_ONE} 000009`)],
    ["a date", hex("0B 3FF0000000000000 0000")],
  ];

  for (const [name, bytes] of samples) {
    it(`fails at every cut of ${name} with ERR_AMF0_TRUNCATED (strict)`, () => {
      expect(() => decodeAmf0Value(bytes, 0, { strict: true })).not.toThrow();
      for (let cut = 0; cut < bytes.length; cut++) {
        const prefix = bytes.subarray(0, cut);
        expect([cut, codeOf(() => decodeAmf0Value(prefix, 0, { strict: true }))]).toEqual([cut, "ERR_AMF0_TRUNCATED"]);
      }
    });
  }

  it("fails at every cut inside a value of a command; a cut between values just ends it", () => {
    const ends = new Set([10, 19]); // after "connect", after 1
    for (let cut = 1; cut < FFMPEG_CONNECT.length; cut++) {
      const prefix = FFMPEG_CONNECT.subarray(0, cut);
      if (ends.has(cut)) expect(decodeAmf0(prefix, 0, { strict: true }).length).toBeGreaterThan(0);
      else expect([cut, codeOf(() => decodeAmf0(prefix, 0, { strict: true }))]).toEqual([cut, "ERR_AMF0_TRUNCATED"]);
    }
  });

  it("says what is truncated and where", () => {
    const err = errorOf(() => decodeAmf0(hex(`05 02 00 05 ${ascii("ab")}`)));
    expect(err.code).toBe("ERR_AMF0_TRUNCATED");
    expect(err.message).toMatch(/string at byte 1 is truncated: needs 5 bytes at byte 4, 2 remain/);
    const err2 = errorOf(() => decodeAmf0(hex(`03 0005 ${ascii("ab")}`)));
    expect(err2.message).toMatch(/object property name at byte 0 is truncated/);
    const err3 = errorOf(() => decodeAmf0(hex(`00 3FF0`)));
    expect(err3.message).toMatch(/number at byte 0 is truncated: needs 8 bytes at byte 1, 2 remain/);
  });

  it("refuses a strict array count larger than the payload before looping", () => {
    const started = performance.now();
    const err = errorOf(() => decodeAmf0(hex("0A FFFFFFFF 05 05")));
    expect(err.code).toBe("ERR_AMF0_TRUNCATED");
    expect(err.message).toMatch(/4294967295 elements/);
    expect(performance.now() - started).toBeLessThan(50);
  });

  it("fails on a long string length past the end without allocating it", () => {
    expect(codeOf(() => decodeAmf0(hex("0C FFFFFFFF 41")))).toBe("ERR_AMF0_TRUNCATED");
    expect(codeOf(() => decodeAmf0(hex("0F FFFFFFFF 41")))).toBe("ERR_AMF0_TRUNCATED");
  });

  describe("an object left open at the end of the payload (nginx-rtmp: 'Envivio sends unfinalized arrays')", () => {
    // {a: 1, b: {c: 2}}: 03 | 0001 'a' num(1) | 0001 'b' 03 | 0001 'c' num(2) | 000009 | 000009
    const nested = hex(
      `03 0001 ${ascii("a")} ${NUMBER_ONE} 0001 ${ascii("b")} 03 0001 ${ascii("c")} 00 4000000000000000 000009 000009`,
    );

    it("is closed when its next property would start exactly at the end, and only then", () => {
      const accepted = new Map<number, Amf0Value>();
      for (let cut = 0; cut <= nested.length; cut++) {
        try {
          accepted.set(cut, decodeAmf0Value(nested.subarray(0, cut), 0).value);
        } catch (err) {
          expect((err as SluiceError).code).toBe("ERR_AMF0_TRUNCATED");
        }
      }
      expect([...accepted.keys()]).toEqual([1, 13, 17, 29, 32, 35]);
      expect(accepted.get(1)).toEqual({});
      expect(accepted.get(13)).toEqual({ a: 1 });
      expect(accepted.get(17)).toEqual({ a: 1, b: {} });
      expect(accepted.get(29)).toEqual({ a: 1, b: { c: 2 } });
      expect(accepted.get(32)).toEqual({ a: 1, b: { c: 2 } });
    });

    it("reads the ffmpeg connect command without its final end marker", () => {
      const open = FFMPEG_CONNECT.subarray(0, FFMPEG_CONNECT.length - 3);
      expect(decodeAmf0(open)).toEqual(decodeAmf0(FFMPEG_CONNECT));
      expect(codeOf(() => decodeAmf0(open, 0, { strict: true }))).toBe("ERR_AMF0_TRUNCATED");
      expect(codeOf(() => decodeAmf0(FFMPEG_CONNECT.subarray(0, FFMPEG_CONNECT.length - 1)))).toBe("ERR_AMF0_TRUNCATED");
    });

    it("reads an unfinalized onMetaData ECMA array", () => {
      const meta = hex(`02 000A ${ascii("onMetaData")} 08 00000001 0005 ${ascii("width")} 00 4094000000000000`);
      const [, arr] = decodeAmf0(meta);
      expect(arr).toBeInstanceOf(Amf0EcmaArray);
      expect((arr as Amf0EcmaArray).entries).toEqual({ width: 1280 });
    });

    it("still fails when a strict array around it wants more elements", () => {
      expect(codeOf(() => decodeAmf0(hex("0A 00000002 03")))).toBe("ERR_AMF0_TRUNCATED");
    });
  });
});

describe("AMF0 nesting depth", () => {
  const nestedObjects = (n: number): Buffer =>
    Buffer.concat([Buffer.from(hex(`03 0001 ${ascii("a")}`).toString("hex").repeat(n), "hex"), hex("05"), Buffer.from("000009".repeat(n), "hex")]);

  it(`accepts ${AMF0_MAX_DEPTH} levels and refuses ${AMF0_MAX_DEPTH + 1}`, () => {
    expect(() => decodeAmf0(nestedObjects(AMF0_MAX_DEPTH))).not.toThrow();
    const err = errorOf(() => decodeAmf0(nestedObjects(AMF0_MAX_DEPTH + 1)));
    expect(err.code).toBe("ERR_AMF0_DEPTH");
    expect(err.message).toContain(`at byte ${AMF0_MAX_DEPTH * 4}`);
  });

  it.each([
    ["objects", (n: number) => nestedObjects(n)],
    ["strict arrays", (n: number) => Buffer.from("0a00000001".repeat(n) + "05", "hex")],
    ["ECMA arrays", (n: number) => Buffer.from(`0800000001 0001${ascii("a")}`.replace(/\s/g, "").repeat(n) + "05" + "000009".repeat(n), "hex")],
    ["typed objects", (n: number) => Buffer.from(`10 0001${ascii("T")} 0001${ascii("a")}`.replace(/\s/g, "").repeat(n) + "05" + "000009".repeat(n), "hex")],
  ])("fails fast on %s nested 10,000 deep with ERR_AMF0_DEPTH", (_name, build) => {
    const bytes = build(10_000);
    const started = performance.now();
    expect(codeOf(() => decodeAmf0(bytes))).toBe("ERR_AMF0_DEPTH");
    expect(performance.now() - started).toBeLessThan(100);
  });

  it("refuses to encode a value nested 10,000 deep, without overflowing the stack", () => {
    let deep: Amf0Value = null;
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    expect(codeOf(() => encodeAmf0(deep))).toBe("ERR_AMF0_DEPTH");
    let arr: Amf0Value = [];
    for (let i = 0; i < 10_000; i++) arr = [arr];
    expect(codeOf(() => encodeAmf0(arr))).toBe("ERR_AMF0_DEPTH");
  });

  it(`encodes ${AMF0_MAX_DEPTH} levels and not ${AMF0_MAX_DEPTH + 1}`, () => {
    let v: Amf0Value = 1;
    for (let i = 0; i < AMF0_MAX_DEPTH; i++) v = { a: v };
    expect(decodeAmf0(encodeAmf0(v))).toEqual([v]);
    expect(codeOf(() => encodeAmf0({ a: v }))).toBe("ERR_AMF0_DEPTH");
  });
});

describe("AMF0 prototype safety", () => {
  const polluting = hex(
    `03 0009 ${ascii("__proto__")} 03 0005 ${ascii("admin")} 01 01 000009
        000B ${ascii("constructor")} 02 0001 ${ascii("x")}
     000009`,
  );

  it("keeps a __proto__ key as a plain property and pollutes nothing", () => {
    const [value] = decodeAmf0(polluting) as [Amf0Object];
    expect(Object.getPrototypeOf(value)).toBeNull();
    expect(Object.keys(value)).toEqual(["__proto__", "constructor"]);
    expect(Object.getOwnPropertyDescriptor(value, "__proto__")?.value).toEqual({ admin: true });
    expect(value["constructor"]).toBe("x");
    expect(({} as Record<string, unknown>)["admin"]).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>)["admin"]).toBeUndefined();
  });

  it("does the same inside ECMA arrays and typed objects", () => {
    const ecma = hex(`08 00000001 0009 ${ascii("__proto__")} 03 0005 ${ascii("admin")} 01 01 000009 000009`);
    const [arr] = decodeAmf0(ecma) as [Amf0EcmaArray];
    expect(Object.getPrototypeOf(arr.entries)).toBeNull();
    expect(Object.keys(arr.entries)).toEqual(["__proto__"]);
    const typed = hex(`10 0001 ${ascii("T")} 0009 ${ascii("__proto__")} 05 000009`);
    const [t] = decodeAmf0(typed) as [Amf0TypedObject];
    expect(Object.keys(t.properties)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>)["admin"]).toBeUndefined();
  });

  it("gives decoded objects no inherited keys to trip over", () => {
    const [value] = decodeAmf0(hex("03 000009")) as [Amf0Object];
    expect(value["toString"]).toBeUndefined();
    expect(value["hasOwnProperty"]).toBeUndefined();
  });

  it("writes a __proto__ key back out as it came in", () => {
    expect(encodeAmf0(...decodeAmf0(polluting)).toString("hex")).toBe(polluting.toString("hex"));
  });
});

describe("AMF0 references (2.9)", () => {
  it("resolves a reference to an earlier object as the same value, across the values of a message", () => {
    const bytes = hex(`03 0001 ${ascii("a")} ${NUMBER_ONE} 000009  07 0000`);
    const [a, b] = decodeAmf0(bytes);
    expect(a).toEqual({ a: 1 });
    expect(b).toBe(a);
  });

  it("numbers objects, ECMA arrays, strict arrays and typed objects in the order they begin", () => {
    // [ ecma #1, typed #2, {} #3, ref #1, ref #3, ref #2 ] (the strict array itself is #0)
    const bytes = hex(`0A 00000006  08 00000000 000009  10 0001 ${ascii("T")} 000009  03 000009  07 0001  07 0003  07 0002`);
    const [arr] = decodeAmf0(bytes) as [Amf0Value[]];
    expect(arr[0]).toBeInstanceOf(Amf0EcmaArray);
    expect(arr[3]).toBe(arr[0]);
    expect(arr[4]).toBe(arr[2]);
    expect(arr[5]).toBe(arr[1]);
  });

  it("counts a nested value after its container", () => {
    // {o: {x: 1}} is #0, {x: 1} is #1
    const bytes = hex(`03 0001 ${ascii("o")} 03 0001 ${ascii("x")} ${NUMBER_ONE} 000009 000009  07 0001  07 0000`);
    const [outer, inner, again] = decodeAmf0(bytes) as Amf0Object[];
    expect(inner).toBe(outer!["o"]);
    expect(again).toBe(outer);
  });

  it("rejects a reference to an index not seen yet with ERR_AMF0_REFERENCE", () => {
    expect(codeOf(() => decodeAmf0(hex("07 0000")))).toBe("ERR_AMF0_REFERENCE");
    expect(codeOf(() => decodeAmf0(hex("03 000009 07 0001")))).toBe("ERR_AMF0_REFERENCE");
  });

  it("rejects a reference from a value to itself (a cycle)", () => {
    const err = errorOf(() => decodeAmf0(hex(`03 0004 ${ascii("self")} 07 0000 000009`)));
    expect(err.code).toBe("ERR_AMF0_REFERENCE");
    expect(err.message).toMatch(/cycle/);
    expect(codeOf(() => decodeAmf0(hex("0A 00000001 07 0000")))).toBe("ERR_AMF0_REFERENCE");
  });

  it("starts a new table for each message, or carries one given by the caller", () => {
    const first = hex("03 000009");
    const ref = hex("07 0000");
    expect(codeOf(() => decodeAmf0(ref))).toBe("ERR_AMF0_REFERENCE");
    const references = new Amf0ReferenceTable();
    const { value } = decodeAmf0Value(first, 0, { references });
    expect(decodeAmf0Value(ref, 0, { references }).value).toBe(value);
    expect(references.values).toEqual([{}]);
  });

  it("refuses references that nest a value deeper than the limit", () => {
    // value i is {a: ref(i-1)}: each reference adds a level without adding bytes
    const parts = [hex("03 000009")];
    for (let i = 1; i < AMF0_MAX_DEPTH + 5; i++) {
      parts.push(hex(`03 0001 ${ascii("a")} 07 ${(i - 1).toString(16).padStart(4, "0")} 000009`));
    }
    expect(() => decodeAmf0(Buffer.concat(parts.slice(0, AMF0_MAX_DEPTH)))).not.toThrow();
    expect(codeOf(() => decodeAmf0(Buffer.concat(parts)))).toBe("ERR_AMF0_DEPTH");
  });

  it("refuses references that would expand the message past the encoded size limit", () => {
    // value i is {a: ref(i-1), b: ref(i-1)}: written out in full, each doubles
    const parts = [hex("03 000009")];
    for (let i = 1; i < 40; i++) {
      const r = (i - 1).toString(16).padStart(4, "0");
      parts.push(hex(`03 0001 ${ascii("a")} 07 ${r} 0001 ${ascii("b")} 07 ${r} 000009`));
    }
    const started = performance.now();
    const err = errorOf(() => decodeAmf0(Buffer.concat(parts)));
    expect(err.code).toBe("ERR_AMF0_REFERENCE");
    expect(err.message).toContain(String(AMF0_MAX_ENCODED_SIZE));
    expect(performance.now() - started).toBeLessThan(100);
    // a few levels are fine, and re-encode with the shared values written out in full
    const values = decodeAmf0(Buffer.concat(parts.slice(0, 4)));
    const bytes = encodeAmf0(values[3]);
    expect(decodeAmf0(bytes)).toEqual([values[3]]);
    expect(bytes.includes(0x07)).toBe(false);
  });
});

describe("AMF0 encoder", () => {
  it("encodes values back to back in one buffer", () => {
    expect(encodeAmf0().length).toBe(0);
    expect(encodeAmf0(null, undefined, true).toString("hex")).toBe("050601" + "01");
  });

  it("writes a value shared by two places in full at each place", () => {
    const shared = { x: 1 };
    const bytes = encodeAmf0([shared, shared]);
    expect(bytes.toString("hex")).toBe(
      hex(`0A 00000002 03 0001 ${ascii("x")} ${NUMBER_ONE} 000009 03 0001 ${ascii("x")} ${NUMBER_ONE} 000009`).toString("hex"),
    );
  });

  it("writes a hole in an array as undefined", () => {
    expect(encodeAmf0([1, , 2] as Amf0Value[]).toString("hex")).toBe(`0a00000003${NUMBER_ONE.replace(/ /g, "").toLowerCase()}06004000000000000000`);
  });

  it.each([
    ["a function", () => 1, "ERR_AMF0_TYPE"],
    ["a symbol", Symbol("s"), "ERR_AMF0_TYPE"],
    ["a bigint", 1n, "ERR_AMF0_TYPE"],
    ["a Map", new Map(), "ERR_AMF0_TYPE"],
    ["a JS Date (use Amf0Date)", new Date(0), "ERR_AMF0_TYPE"],
    ["a Buffer", Buffer.from("x"), "ERR_AMF0_TYPE"],
    ["an object with an empty key", { "": 1 }, "ERR_AMF0_TYPE"],
    ["a key over 65535 bytes", { ["k".repeat(0x10000)]: 1 }, "ERR_AMF0_TYPE"],
    ["a time zone out of int16 range", new Amf0Date(0, 40000), "ERR_AMF0_TYPE"],
    ["a function deep inside", { a: [{ b: () => 1 }] }, "ERR_AMF0_TYPE"],
  ])("refuses %s", (_name, value, code) => {
    expect(codeOf(() => encodeAmf0(value as unknown as Amf0Value))).toBe(code);
  });

  it("refuses a cyclic value with ERR_AMF0_REFERENCE", () => {
    const a: Amf0Object = {};
    a["self"] = a;
    expect(codeOf(() => encodeAmf0(a))).toBe("ERR_AMF0_REFERENCE");
    const arr: Amf0Value[] = [];
    arr.push(new Amf0EcmaArray({ back: arr }));
    expect(codeOf(() => encodeAmf0(arr))).toBe("ERR_AMF0_REFERENCE");
  });

  it("refuses output larger than an RTMP message or FLV tag can carry", () => {
    const big = "x".repeat(AMF0_MAX_ENCODED_SIZE);
    expect(codeOf(() => encodeAmf0(big))).toBe("ERR_RTMP_MESSAGE_TOO_LARGE");
  });

  it("sizes a DAG of shared values in linear time", () => {
    let v: Amf0Value = { x: 1 };
    for (let i = 0; i < 60; i++) v = { a: v, b: v };
    const started = performance.now();
    expect(codeOf(() => encodeAmf0(v))).toBe("ERR_RTMP_MESSAGE_TOO_LARGE");
    expect(performance.now() - started).toBeLessThan(100);
  });

  it("checks depth through shared values reached at different depths", () => {
    let chain: Amf0Value = 1;
    for (let i = 0; i < AMF0_MAX_DEPTH - 1; i++) chain = { a: chain };
    // first met at depth 1 (fits), then at depth 2 (one level too deep)
    expect(codeOf(() => encodeAmf0([chain, { b: chain }]))).toBe("ERR_AMF0_DEPTH");
    expect(() => encodeAmf0(chain, chain)).not.toThrow();
  });

  it("writes lone surrogates as U+FFFD, consistently with the length it declares", () => {
    const bytes = encodeAmf0("a\ud800b");
    expect(bytes.toString("hex")).toBe("020005" + "61efbfbd62");
    expect(decodeAmf0(bytes)).toEqual(["a\ufffdb"]);
  });
});

describe("AMF0 properties", () => {
  it("decodes any byte string or throws a SluiceError with an AMF0 code", () => {
    const marker = fc.integer({ min: 0, max: 0x12 });
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      // biased toward markers and small lengths, to get deeper than a first byte
      fc.array(fc.oneof(marker, fc.constantFrom(0, 1, 2, 9), fc.integer({ min: 0, max: 255 })), { maxLength: 96 }).map(
        (a) => Uint8Array.from(a),
      ),
    );
    fc.assert(
      fc.property(bytes, fc.boolean(), (u8, strict) => {
        const buf = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
        try {
          const values = decodeAmf0(buf, 0, { strict });
          expect(Array.isArray(values)).toBe(true);
        } catch (err) {
          if (!(err instanceof SluiceError)) throw err;
          expect(AMF0_CODES).toContain(err.code);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it("throws nothing but an AMF0 SluiceError on one-byte mutations of valid encodings", () => {
    fc.assert(
      fc.property(fc.constantFrom(...rows.map((r) => r.bytes), FFMPEG_CONNECT.toString("hex")), fc.nat(), fc.integer({ min: 0, max: 255 }), (h, at, byte) => {
        const buf = hex(h);
        buf[at % buf.length] = byte;
        try {
          decodeAmf0(buf);
        } catch (err) {
          if (!(err instanceof SluiceError)) throw err;
          expect(AMF0_CODES).toContain(err.code);
        }
      }),
      { numRuns: 3000 },
    );
  });

  const key = fc.oneof(
    fc.string({ unit: "binary", minLength: 1, maxLength: 12 }),
    fc.constantFrom("__proto__", "constructor", "toString", "0", "1", "duration", "a"),
  );

  const { value: amf0Value } = fc.letrec<{
    value: Amf0Value;
    object: Amf0Object;
    ecma: Amf0EcmaArray;
    array: Amf0Value[];
    typed: Amf0TypedObject;
  }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.double(),
      fc.boolean(),
      fc.string({ unit: "binary", maxLength: 20 }),
      fc.constant(null),
      fc.constant(undefined),
      fc.tuple(fc.double(), fc.integer({ min: -0x8000, max: 0x7fff })).map(([ms, tz]) => new Amf0Date(ms, tz)),
      fc.string({ maxLength: 20 }).map((x) => new Amf0XmlDocument(x)),
      tie("object"),
      tie("ecma"),
      tie("array"),
      tie("typed"),
    ),
    object: fc.dictionary(key, tie("value"), { maxKeys: 5 }),
    ecma: fc.dictionary(key, tie("value"), { maxKeys: 5 }).map((e) => new Amf0EcmaArray(e)),
    array: fc.array(tie("value"), { maxLength: 5 }),
    typed: fc
      .tuple(fc.string({ unit: "binary", maxLength: 12 }), fc.dictionary(key, tie("value"), { maxKeys: 5 }))
      .map(([c, p]) => new Amf0TypedObject(c, p)),
  }));

  it("decodes what it encodes: encode -> decode is the identity, encode -> decode -> encode the same bytes", () => {
    fc.assert(
      fc.property(fc.array(amf0Value, { maxLength: 4 }), (values) => {
        const bytes = encodeAmf0(...values);
        const decoded = decodeAmf0(bytes, 0, { strict: true });
        expect(decoded).toEqual(values);
        expect(encodeAmf0(...decoded).equals(bytes)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("decodes from any offset into a larger buffer with the same result", () => {
    fc.assert(
      fc.property(amf0Value, fc.uint8Array({ maxLength: 8 }), (value, junk) => {
        const bytes = Buffer.concat([Buffer.from(junk), encodeAmf0(value)]);
        const { value: decoded, next } = decodeAmf0Value(bytes, junk.length);
        expect(decoded).toEqual(value);
        expect(next).toBe(bytes.length);
      }),
      { numRuns: 300 },
    );
  });
});
