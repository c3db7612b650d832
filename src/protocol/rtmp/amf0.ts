/**
 * AMF0 codec (Adobe "AMF 0 File Format Specification", amf0_spec_121207): RTMP command
 * messages (type 20), data messages (type 18, e.g. @setDataFrame/onMetaData) and FLV script
 * tags carry their values in it. Section numbers below refer to that spec.
 *
 * Value model (wire type -> JS):
 *   number 0x00 -> number          boolean 0x01 -> boolean
 *   string 0x02, long string 0x0C -> string (UTF-8; the encoder picks 0x0C above 65535 bytes)
 *   object 0x03 -> Amf0Object (a null-prototype record: a "__proto__" key is a plain key)
 *   null 0x05 -> null              undefined 0x06, unsupported 0x0D -> undefined
 *   reference 0x07 -> the earlier complex value itself (shared, not copied)
 *   ECMA array 0x08 -> Amf0EcmaArray (so onMetaData re-encodes as 0x08)
 *   strict array 0x0A -> Amf0Value[]   date 0x0B -> Amf0Date   XML document 0x0F -> Amf0XmlDocument
 *   typed object 0x10 -> Amf0TypedObject
 *   movieclip 0x04, recordset 0x0E (reserved), AVM+ switch 0x11 (AMF3), unknown -> ERR_AMF0_TYPE
 *
 * Decisions a peer can observe:
 * - An object, ECMA array or typed object whose next property would start exactly at the end
 *   of the payload is taken as closed, as nginx-rtmp does ("Envivio sends unfinalized
 *   arrays"). A partial end marker, or one cut anywhere else, is ERR_AMF0_TRUNCATED; the
 *   `strict` option requires every end marker.
 * - The ECMA array count (2.10) is ignored: encoders get it wrong, the end marker decides.
 * - A reference to a value still being decoded (a cycle) is ERR_AMF0_REFERENCE, like one to
 *   an index not seen yet: decoded values are trees or DAGs. A reference may not nest a value
 *   deeper than AMF0_MAX_DEPTH (ERR_AMF0_DEPTH) nor expand the message, written out in full,
 *   past AMF0_MAX_ENCODED_SIZE (ERR_AMF0_REFERENCE): walking a decoded value is bounded work.
 * - Within an object the last of two equal keys wins; an empty key before a value other than
 *   0x09 is read as the property "" but never written (other decoders stop at any empty key).
 * - The encoder writes shared values inline, never as references (neither nginx-rtmp's
 *   decoder nor ffmpeg's rtmppkt.c has a case for 0x07). Its size pass is memoised per value, so a DAG of references cannot make it
 *   do exponential work: it fails with ERR_RTMP_MESSAGE_TOO_LARGE past AMF0_MAX_ENCODED_SIZE.
 * - Nesting of complex values deeper than AMF0_MAX_DEPTH fails with ERR_AMF0_DEPTH in both
 *   directions; a cyclic value given to the encoder fails with ERR_AMF0_REFERENCE.
 * - Strings are decoded as UTF-8; invalid sequences become U+FFFD. JS strings with lone
 *   surrogates are written as U+FFFD too (UTF-8 cannot carry them).
 */
import { SluiceError } from "../../core/errors.js";

/** Deepest nesting of objects, arrays and typed objects accepted (the outermost is 1). */
export const AMF0_MAX_DEPTH = 64;

/**
 * Largest buffer encodeAmf0 produces: the 24-bit message length of RTMP (spec 6.1.1) and the
 * 24-bit DataSize of an FLV tag bound anything AMF0 is sent in.
 */
export const AMF0_MAX_ENCODED_SIZE = 0xffffff;

/** Type markers, AMF0 spec 2.1 (and 3.1 for the AVM+ switch). */
export const Amf0Marker = {
  NUMBER: 0x00,
  BOOLEAN: 0x01,
  STRING: 0x02,
  OBJECT: 0x03,
  MOVIECLIP: 0x04,
  NULL: 0x05,
  UNDEFINED: 0x06,
  REFERENCE: 0x07,
  ECMA_ARRAY: 0x08,
  OBJECT_END: 0x09,
  STRICT_ARRAY: 0x0a,
  DATE: 0x0b,
  LONG_STRING: 0x0c,
  UNSUPPORTED: 0x0d,
  RECORDSET: 0x0e,
  XML_DOCUMENT: 0x0f,
  TYPED_OBJECT: 0x10,
  AVMPLUS: 0x11,
} as const;

export type Amf0Value =
  | number
  | boolean
  | string
  | null
  | undefined
  | Amf0Object
  | Amf0EcmaArray
  | Amf0Value[]
  | Amf0Date
  | Amf0TypedObject
  | Amf0XmlDocument;

/** Anonymous object (0x03). Decoded ones have a null prototype. */
export interface Amf0Object {
  [key: string]: Amf0Value;
}

/** The values a reference (0x07) can point at, AMF0 spec 2.9. */
export type Amf0Complex = Amf0Object | Amf0EcmaArray | Amf0Value[] | Amf0TypedObject;

/** An empty null-prototype record, safe for any key including "__proto__". */
export function createAmf0Object(): Amf0Object {
  return Object.create(null) as Amf0Object;
}

/** ECMA array (0x08, AMF0 spec 2.10): string keys, as onMetaData is sent by encoders. */
export class Amf0EcmaArray {
  constructor(public entries: Amf0Object = createAmf0Object()) {}
}

/** Date (0x0B, AMF0 spec 2.13): UTC milliseconds and a time zone that should be 0. */
export class Amf0Date {
  constructor(
    public ms: number,
    /** Signed 16-bit; the spec reserves it and says to write 0x0000. */
    public timezone = 0,
  ) {}

  static fromDate(date: Date): Amf0Date {
    return new Amf0Date(date.getTime(), 0);
  }

  toDate(): Date {
    return new Date(this.ms);
  }
}

/** Typed object (0x10, AMF0 spec 2.18): an object tagged with an ActionScript class name. */
export class Amf0TypedObject {
  constructor(
    public className: string,
    public properties: Amf0Object = createAmf0Object(),
  ) {}
}

/**
 * XML document (0x0F, AMF0 spec 2.17). A class rather than a string so that it re-encodes
 * as 0x0F; its text is not parsed.
 */
export class Amf0XmlDocument {
  constructor(public xml: string) {}
}

/**
 * The reference table of one AMF0 message (AMF0 spec 2.9): complex values in the order they
 * began, with what the decoder needs to bound values reached through references.
 */
export class Amf0ReferenceTable {
  /** Objects, ECMA arrays, strict arrays and typed objects, by reference index. */
  readonly values: Amf0Complex[] = [];
  /** Nesting height of each value (1 for a value holding no complex value). */
  readonly heights: number[] = [];
  /** Bytes each value takes written out in full, references expanded. */
  readonly sizes: number[] = [];
}

export interface Amf0DecodeOptions {
  /** Require the object-end marker even at the end of the payload (default false). */
  strict?: boolean;
  /**
   * The reference table to resolve references against and to add complex values to.
   * decodeAmf0 starts a new one per call, as an RTMP message body is one AMF0 message; pass
   * one to successive decodeAmf0Value calls to carry it from value to value.
   */
  references?: Amf0ReferenceTable;
}

/** Decodes every value from `offset` to the end of `buf` (an RTMP command: name, id, args). */
export function decodeAmf0(buf: Buffer, offset = 0, options?: Amf0DecodeOptions): Amf0Value[] {
  checkOffset(buf, offset);
  const reader = new Amf0Reader(buf, offset, options);
  const values: Amf0Value[] = [];
  while (reader.pos < buf.length) values.push(reader.value(1));
  return values;
}

/** Decodes one value at `offset`; `next` is the offset just past it. */
export function decodeAmf0Value(
  buf: Buffer,
  offset: number,
  options?: Amf0DecodeOptions,
): { value: Amf0Value; next: number } {
  checkOffset(buf, offset);
  const reader = new Amf0Reader(buf, offset, options);
  const value = reader.value(1);
  return { value, next: reader.pos };
}

function checkOffset(buf: Buffer, offset: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset > buf.length) {
    throw new SluiceError(
      "ERR_AMF0_TRUNCATED",
      `AMF0 offset ${offset} is outside the ${buf.length}-byte buffer`,
    );
  }
}

/**
 * Recursive descent, bounded: a complex value deeper than AMF0_MAX_DEPTH fails before its
 * contents are read, so the stack never holds more than that many values. References are
 * bounded too: one may not make a value deeper than AMF0_MAX_DEPTH, nor make the message
 * written out in full larger than AMF0_MAX_ENCODED_SIZE, so whoever walks a decoded value
 * (a logger, the encoder relaying onMetaData) does bounded work.
 */
class Amf0Reader {
  pos: number;
  private readonly buf: Buffer;
  private readonly start: number;
  private readonly strict: boolean;
  private readonly table: Amf0ReferenceTable;
  /** Reference indices of the complex values being decoded: at most AMF0_MAX_DEPTH. */
  private readonly open: number[] = [];
  /** Nesting height of the value last read. */
  private height = 0;
  /** Bytes that the references read so far add when written out in full. */
  private inflation = 0;

  constructor(buf: Buffer, offset: number, options: Amf0DecodeOptions | undefined) {
    this.buf = buf;
    this.pos = offset;
    this.start = offset;
    this.strict = options?.strict ?? false;
    this.table = options?.references ?? new Amf0ReferenceTable();
  }

  /** Reads one value; `depth` is the nesting level a complex value read here would have. */
  value(depth: number): Amf0Value {
    const at = this.pos;
    this.need(1, "type marker", at);
    const buf = this.buf;
    const marker = buf[at]!;
    this.pos = at + 1;
    this.height = 0;
    switch (marker) {
      case Amf0Marker.NUMBER: {
        this.need(8, "number", at);
        const n = buf.readDoubleBE(this.pos);
        this.pos += 8;
        return n;
      }
      case Amf0Marker.BOOLEAN: {
        this.need(1, "boolean", at);
        return buf[this.pos++] !== 0; // 2.3: any non-zero byte is true
      }
      case Amf0Marker.STRING:
        return this.utf8(2, "string", at);
      case Amf0Marker.LONG_STRING:
        return this.utf8(4, "long string", at);
      case Amf0Marker.NULL:
        return null;
      case Amf0Marker.UNDEFINED:
      case Amf0Marker.UNSUPPORTED: // 2.15: "unsupported" has no better JS counterpart
        return undefined;
      case Amf0Marker.OBJECT: {
        const obj = createAmf0Object();
        const index = this.enter(obj, depth, "object", at);
        this.properties(obj, depth, "object", at);
        this.leave(index, at);
        return obj;
      }
      case Amf0Marker.ECMA_ARRAY: {
        this.need(4, "ECMA array count", at);
        this.pos += 4; // 2.10: the count is a hint that encoders get wrong; the end marker decides
        const arr = new Amf0EcmaArray();
        const index = this.enter(arr, depth, "ECMA array", at);
        this.properties(arr.entries, depth, "ECMA array", at);
        this.leave(index, at);
        return arr;
      }
      case Amf0Marker.TYPED_OBJECT: {
        const className = this.utf8(2, "typed object class name", at);
        const typed = new Amf0TypedObject(className);
        const index = this.enter(typed, depth, "typed object", at);
        this.properties(typed.properties, depth, "typed object", at);
        this.leave(index, at);
        return typed;
      }
      case Amf0Marker.STRICT_ARRAY: {
        this.need(4, "strict array count", at);
        const count = buf.readUInt32BE(this.pos);
        this.pos += 4;
        // Every element takes at least one byte: refuse a count the payload cannot hold
        // before looping over it.
        const left = buf.length - this.pos;
        if (count > left) {
          throw new SluiceError(
            "ERR_AMF0_TRUNCATED",
            `AMF0 strict array at byte ${at} declares ${count} elements but only ${left} bytes remain`,
          );
        }
        const arr: Amf0Value[] = [];
        const index = this.enter(arr, depth, "strict array", at);
        let height = 0;
        for (let i = 0; i < count; i++) {
          arr.push(this.value(depth + 1));
          if (this.height > height) height = this.height;
        }
        this.height = height;
        this.leave(index, at);
        return arr;
      }
      case Amf0Marker.REFERENCE:
        return this.reference(depth, at);
      case Amf0Marker.DATE: {
        this.need(10, "date", at);
        const ms = buf.readDoubleBE(this.pos);
        const timezone = buf.readInt16BE(this.pos + 8);
        this.pos += 10;
        return new Amf0Date(ms, timezone);
      }
      case Amf0Marker.XML_DOCUMENT:
        return new Amf0XmlDocument(this.utf8(4, "XML document", at));
      case Amf0Marker.OBJECT_END:
        throw new SluiceError(
          "ERR_AMF0_TYPE",
          `AMF0 object-end marker 0x09 at byte ${at} is outside an object`,
        );
      case Amf0Marker.MOVIECLIP:
      case Amf0Marker.RECORDSET:
        throw new SluiceError(
          "ERR_AMF0_TYPE",
          `AMF0 type 0x${hex(marker)} at byte ${at} is reserved (${marker === Amf0Marker.MOVIECLIP ? "movieclip" : "recordset"}) and not supported`,
        );
      case Amf0Marker.AVMPLUS:
        throw new SluiceError(
          "ERR_AMF0_TYPE",
          `AMF0 AVM+ switch 0x11 at byte ${at}: AMF3 is not supported (the peer must use objectEncoding 0)`,
        );
      default:
        throw new SluiceError("ERR_AMF0_TYPE", `unknown AMF0 type marker 0x${hex(marker)} at byte ${at}`);
    }
  }

  /** 2.9: a U16 index into the complex values that began before this point. */
  private reference(depth: number, at: number): Amf0Value {
    this.need(2, "reference", at);
    const index = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    const table = this.table;
    const target = table.values[index];
    if (target === undefined) {
      throw new SluiceError(
        "ERR_AMF0_REFERENCE",
        `AMF0 reference at byte ${at} points at complex value #${index}, but only ${table.values.length} precede it`,
      );
    }
    if (this.open.includes(index)) {
      throw new SluiceError(
        "ERR_AMF0_REFERENCE",
        `AMF0 reference at byte ${at} points at complex value #${index}, which contains it (a cycle)`,
      );
    }
    const height = table.heights[index]!;
    if (depth + height - 1 > AMF0_MAX_DEPTH) {
      throw new SluiceError(
        "ERR_AMF0_DEPTH",
        `AMF0 reference at byte ${at} to complex value #${index} nests it deeper than ${AMF0_MAX_DEPTH} levels`,
      );
    }
    this.inflation += table.sizes[index]! - 3;
    const expanded = this.pos - this.start + this.inflation;
    if (expanded > AMF0_MAX_ENCODED_SIZE) {
      throw new SluiceError(
        "ERR_AMF0_REFERENCE",
        `AMF0 reference at byte ${at} expands the message to ${expanded} bytes, more than ${AMF0_MAX_ENCODED_SIZE}`,
      );
    }
    this.height = height;
    return target;
  }

  /** Registers a complex value in the reference table (2.9: in the order they begin). */
  private enter(value: Amf0Complex, depth: number, what: string, at: number): number {
    if (depth > AMF0_MAX_DEPTH) {
      throw new SluiceError(
        "ERR_AMF0_DEPTH",
        `AMF0 ${what} at byte ${at} is nested deeper than ${AMF0_MAX_DEPTH} levels`,
      );
    }
    const table = this.table;
    const index = table.values.length;
    table.values.push(value);
    // Placeholders until leave(): a reference to an open value fails before reading them.
    table.heights.push(0);
    table.sizes.push(this.inflation);
    this.open.push(index);
    return index;
  }

  /** Completes a complex value: `this.height` holds the tallest of its members. */
  private leave(index: number, at: number): void {
    const table = this.table;
    const inflationAtStart = table.sizes[index]!;
    table.sizes[index] = this.pos - at + (this.inflation - inflationAtStart);
    this.height += 1;
    table.heights[index] = this.height;
    this.open.pop();
  }

  /** Reads key/value pairs up to the object-end marker (2.5, 2.11); sets `this.height`. */
  private properties(target: Amf0Object, depth: number, what: string, at: number): void {
    const buf = this.buf;
    let height = 0;
    for (;;) {
      const keyAt = this.pos;
      if (keyAt === buf.length && !this.strict) break; // unfinalized at the end: see header
      this.need(2, `${what} property name`, at);
      let key: string;
      if (buf.readUInt16BE(keyAt) === 0) {
        this.need(3, `${what} end marker`, at);
        if (buf[keyAt + 2] === Amf0Marker.OBJECT_END) {
          this.pos = keyAt + 3;
          break;
        }
        this.pos = keyAt + 2;
        key = "";
      } else {
        key = this.utf8(2, `${what} property name`, at);
        const valueAt = this.pos;
        this.need(1, `${what} property "${clip(key)}" value`, at);
        if (buf[valueAt] === Amf0Marker.OBJECT_END) {
          throw new SluiceError(
            "ERR_AMF0_TYPE",
            `AMF0 object-end marker at byte ${valueAt} follows the non-empty property name "${clip(key)}" in the ${what} at byte ${at}`,
          );
        }
      }
      target[key] = this.value(depth + 1);
      if (this.height > height) height = this.height;
    }
    this.height = height;
  }

  /** Reads a UTF-8 string with a 2- or 4-byte length (2.4, 2.14). */
  private utf8(lengthBytes: 2 | 4, what: string, at: number): string {
    this.need(lengthBytes, `${what} length`, at);
    const buf = this.buf;
    const len = lengthBytes === 2 ? buf.readUInt16BE(this.pos) : buf.readUInt32BE(this.pos);
    this.pos += lengthBytes;
    this.need(len, what, at);
    const start = this.pos;
    this.pos = start + len;
    return buf.toString("utf8", start, start + len);
  }

  private need(n: number, what: string, at: number): void {
    const left = this.buf.length - this.pos;
    if (n > left) {
      throw new SluiceError(
        "ERR_AMF0_TRUNCATED",
        `AMF0 ${what} at byte ${at} is truncated: needs ${n} bytes at byte ${this.pos}, ${left} remain`,
      );
    }
  }
}

/** Encodes values back to back: sizes them all, then writes into one Buffer of that size. */
export function encodeAmf0(...values: Amf0Value[]): Buffer {
  const sizer = new Amf0Sizer();
  let size = 0;
  for (const v of values) size += sizer.size(v, 1);
  if (size > AMF0_MAX_ENCODED_SIZE) {
    throw new SluiceError(
      "ERR_RTMP_MESSAGE_TOO_LARGE",
      `AMF0 encoding would take ${size} bytes, more than ${AMF0_MAX_ENCODED_SIZE}`,
    );
  }
  const writer = new Amf0Writer(Buffer.allocUnsafe(size));
  for (const v of values) writer.value(v);
  if (writer.pos !== size) {
    // Only a getter or a mutation between the two passes gets here; never hand out a buffer
    // with uninitialised bytes in it.
    throw new SluiceError("ERR_AMF0_TYPE", `AMF0 value changed while being encoded (${writer.pos} bytes written of ${size})`);
  }
  return writer.buf;
}

/** The size and the nesting height of a complex value, memoised by identity. */
interface Measure {
  size: number;
  height: number;
}

const MEASURING: Measure = { size: -1, height: -1 };

/**
 * First pass of the encoder: validates every value and computes the exact encoded size. A
 * value reached twice (shared) is measured once, so the work is linear in distinct values.
 */
class Amf0Sizer {
  private readonly seen = new Map<object, Measure>();
  /** Nesting height of the value last sized (0 for scalars). */
  private height = 0;

  size(value: unknown, depth: number): number {
    this.height = 0;
    switch (typeof value) {
      case "number":
        return 9;
      case "boolean":
        return 2;
      case "string": {
        const n = Buffer.byteLength(value, "utf8");
        return n > 0xffff ? 5 + n : 3 + n;
      }
      case "undefined":
        return 1;
      case "object":
        break;
      default:
        throw new SluiceError("ERR_AMF0_TYPE", `cannot encode a ${typeof value} as AMF0`);
    }
    if (value === null) return 1;
    if (value instanceof Amf0Date) {
      const tz = value.timezone;
      if (!Number.isInteger(tz) || tz < -0x8000 || tz > 0x7fff) {
        throw new SluiceError("ERR_AMF0_TYPE", `AMF0 date time zone ${tz} is not a signed 16-bit integer`);
      }
      if (typeof value.ms !== "number") {
        throw new SluiceError("ERR_AMF0_TYPE", `AMF0 date ms must be a number, not ${typeof value.ms}`);
      }
      return 11;
    }
    if (value instanceof Amf0XmlDocument) return 5 + Buffer.byteLength(value.xml, "utf8");

    const known = this.seen.get(value);
    if (known !== undefined) {
      if (known === MEASURING) {
        throw new SluiceError("ERR_AMF0_REFERENCE", "cannot encode a cyclic value as AMF0");
      }
      if (depth + known.height - 1 > AMF0_MAX_DEPTH) throw tooDeep();
      this.height = known.height;
      return known.size;
    }
    if (depth > AMF0_MAX_DEPTH) throw tooDeep();
    this.seen.set(value, MEASURING);

    let size: number;
    let height = 0;
    if (Array.isArray(value)) {
      size = 5;
      for (let i = 0; i < value.length; i++) {
        size += this.size(value[i], depth + 1);
        if (this.height > height) height = this.height;
      }
    } else {
      let props: object;
      if (value instanceof Amf0EcmaArray) {
        props = value.entries;
        size = 5;
      } else if (value instanceof Amf0TypedObject) {
        props = value.properties;
        size = 1 + propertyNameSize(value.className, "typed object class name", true);
      } else {
        const proto: unknown = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
          throw new SluiceError(
            "ERR_AMF0_TYPE",
            `cannot encode a ${typeof name === "string" ? name : "non-plain object"} as AMF0 (only plain objects and the Amf0* classes)`,
          );
        }
        props = value;
        size = 1;
      }
      if (props === null || typeof props !== "object") {
        throw new SluiceError("ERR_AMF0_TYPE", "AMF0 ECMA array entries / typed object properties must be an object");
      }
      for (const key of Object.keys(props)) {
        size += propertyNameSize(key, "property name", false);
        size += this.size((props as Record<string, unknown>)[key], depth + 1);
        if (this.height > height) height = this.height;
      }
      size += 3; // object end, 2.11
    }
    this.seen.set(value, { size, height: height + 1 });
    this.height = height + 1;
    return size;
  }
}

function propertyNameSize(name: unknown, what: string, emptyOk: boolean): number {
  if (typeof name !== "string") {
    throw new SluiceError("ERR_AMF0_TYPE", `AMF0 ${what} must be a string, not ${typeof name}`);
  }
  const n = Buffer.byteLength(name, "utf8");
  if (n > 0xffff) {
    throw new SluiceError("ERR_AMF0_TYPE", `AMF0 ${what} "${clip(name)}..." takes ${n} bytes, more than 65535`);
  }
  if (n === 0 && !emptyOk) {
    // An empty name is the first half of the object-end marker to most decoders.
    throw new SluiceError("ERR_AMF0_TYPE", "cannot encode an empty AMF0 property name");
  }
  return 2 + n;
}

function tooDeep(): SluiceError {
  return new SluiceError("ERR_AMF0_DEPTH", `cannot encode AMF0 values nested deeper than ${AMF0_MAX_DEPTH} levels`);
}

/** Second pass: writes values that Amf0Sizer has validated, into a buffer of the exact size. */
class Amf0Writer {
  pos = 0;

  constructor(readonly buf: Buffer) {}

  value(value: Amf0Value): void {
    const buf = this.buf;
    switch (typeof value) {
      case "number":
        buf[this.pos] = Amf0Marker.NUMBER;
        this.pos = buf.writeDoubleBE(value, this.pos + 1);
        return;
      case "boolean":
        buf[this.pos] = Amf0Marker.BOOLEAN;
        buf[this.pos + 1] = value ? 1 : 0;
        this.pos += 2;
        return;
      case "string": {
        if (Buffer.byteLength(value, "utf8") > 0xffff) {
          buf[this.pos++] = Amf0Marker.LONG_STRING;
          this.utf8(value, 4);
        } else {
          buf[this.pos++] = Amf0Marker.STRING;
          this.utf8(value, 2);
        }
        return;
      }
      case "undefined":
        buf[this.pos++] = Amf0Marker.UNDEFINED;
        return;
    }
    if (value === null) {
      buf[this.pos++] = Amf0Marker.NULL;
    } else if (Array.isArray(value)) {
      buf[this.pos] = Amf0Marker.STRICT_ARRAY;
      this.pos = buf.writeUInt32BE(value.length, this.pos + 1);
      for (let i = 0; i < value.length; i++) this.value(value[i]);
    } else if (value instanceof Amf0EcmaArray) {
      buf[this.pos] = Amf0Marker.ECMA_ARRAY;
      this.pos = buf.writeUInt32BE(Object.keys(value.entries).length, this.pos + 1);
      this.properties(value.entries);
    } else if (value instanceof Amf0TypedObject) {
      buf[this.pos++] = Amf0Marker.TYPED_OBJECT;
      this.utf8(value.className, 2);
      this.properties(value.properties);
    } else if (value instanceof Amf0Date) {
      buf[this.pos] = Amf0Marker.DATE;
      this.pos = buf.writeDoubleBE(value.ms, this.pos + 1);
      this.pos = buf.writeInt16BE(value.timezone, this.pos);
    } else if (value instanceof Amf0XmlDocument) {
      buf[this.pos++] = Amf0Marker.XML_DOCUMENT;
      this.utf8(value.xml, 4);
    } else {
      buf[this.pos++] = Amf0Marker.OBJECT;
      this.properties(value);
    }
  }

  private properties(props: Amf0Object): void {
    for (const key of Object.keys(props)) {
      this.utf8(key, 2);
      this.value(props[key]);
    }
    const buf = this.buf;
    buf[this.pos] = 0x00;
    buf[this.pos + 1] = 0x00;
    buf[this.pos + 2] = Amf0Marker.OBJECT_END;
    this.pos += 3;
  }

  /** Writes the text after room for its length, then the length it took. */
  private utf8(s: string, lengthBytes: 2 | 4): void {
    const start = this.pos + lengthBytes;
    const n = this.buf.write(s, start, "utf8");
    if (lengthBytes === 2) this.buf.writeUInt16BE(n, this.pos);
    else this.buf.writeUInt32BE(n, this.pos);
    this.pos = start + n;
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

/** A key or name short enough for an error message. */
function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}...` : s;
}
