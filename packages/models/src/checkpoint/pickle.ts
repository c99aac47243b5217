import { BadCheckpointError, UnsafeCheckpointError } from '@superres/core';

/**
 * A restricted pickle virtual machine (protocols 0..5). It never executes anything: GLOBAL and
 * STACK_GLOBAL are answered only by the `resolveGlobal` callback (TypeScript implementations
 * from an allow-list), REDUCE/NEWOBJ call only those, and opcodes outside the data subset are
 * refused. Persistent ids (tensor storages) are handed to the container format's callback.
 *
 * Python values map to: None -> null, bool -> boolean, int -> number (bigint past 2^53),
 * float -> number, str -> string, bytes/bytearray -> Uint8Array, list -> array, tuple -> frozen
 * array (see `isTuple`), dict -> Map, set/frozenset -> Set; callables are `PyCallable`.
 */

/** A global the allow-list provides that REDUCE (and NEWOBJ, when `construct` exists) may call. */
export interface PyCallable {
  readonly kind: 'callable';
  /** Qualified name, `module.name`, for messages. */
  readonly name: string;
  call(args: readonly unknown[]): unknown;
  /** `cls.__new__(cls, *args)` for NEWOBJ; absent when the global is not a class we build. */
  construct?(args: readonly unknown[]): unknown;
}

/** Returns the allowed value for `module.name`, or undefined when the global is forbidden. */
export type GlobalResolver = (module: string, name: string) => unknown;

export interface UnpickleLimits {
  /** Most memo entries. */
  readonly maxMemo: number;
  /** Most values on the stack (all marks together). */
  readonly maxStack: number;
  /** Most open MARKs. */
  readonly maxMarks: number;
  /** Most items put into lists, tuples, dicts and sets altogether. */
  readonly maxItems: number;
}

export const defaultUnpickleLimits: UnpickleLimits = {
  maxMemo: 1 << 22,
  maxStack: 1 << 20,
  maxMarks: 1 << 12,
  maxItems: 1 << 26,
};

export interface UnpickleOptions {
  readonly resolveGlobal: GlobalResolver;
  /** Resolves BINPERSID/PERSID ids; without it a persistent id is an error. */
  readonly persistentLoad?: (pid: unknown) => unknown;
  /** Where the pickle starts (the legacy format holds several pickles back to back). */
  readonly offset?: number;
  readonly limits?: Partial<UnpickleLimits>;
}

export interface UnpickleResult {
  readonly value: unknown;
  /** Offset just past the STOP opcode. */
  readonly end: number;
}

/** Tuples are frozen arrays; lists are never frozen (APPEND mutates them). */
export function isTuple(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && Object.isFrozen(value);
}

export function makeTuple(items: unknown[]): readonly unknown[] {
  return Object.freeze(items);
}

export function isCallable(value: unknown): value is PyCallable {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'callable';
}

const OPCODE_NAMES: Record<number, string> = {
  0x49: 'INT', 0x4a: 'BININT', 0x4b: 'BININT1', 0x4d: 'BININT2', 0x4c: 'LONG', 0x8a: 'LONG1',
  0x8b: 'LONG4', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8e: 'BINBYTES8', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER', 0x4e: 'NONE', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x56: 'UNICODE',
  0x8c: 'SHORT_BINUNICODE', 0x58: 'BINUNICODE', 0x8d: 'BINUNICODE8', 0x46: 'FLOAT',
  0x47: 'BINFLOAT', 0x5d: 'EMPTY_LIST', 0x61: 'APPEND', 0x65: 'APPENDS', 0x6c: 'LIST',
  0x29: 'EMPTY_TUPLE', 0x74: 'TUPLE', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3',
  0x7d: 'EMPTY_DICT', 0x64: 'DICT', 0x73: 'SETITEM', 0x75: 'SETITEMS', 0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x30: 'POP', 0x32: 'DUP', 0x28: 'MARK', 0x31: 'POP_MARK',
  0x67: 'GET', 0x68: 'BINGET', 0x6a: 'LONG_BINGET', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x94: 'MEMOIZE', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x63: 'GLOBAL',
  0x93: 'STACK_GLOBAL', 0x52: 'REDUCE', 0x62: 'BUILD', 0x69: 'INST', 0x6f: 'OBJ', 0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX', 0x80: 'PROTO', 0x2e: 'STOP', 0x95: 'FRAME', 0x50: 'PERSID', 0x51: 'BINPERSID',
};

export function opcodeName(code: number): string {
  return OPCODE_NAMES[code] ?? `0x${code.toString(16).padStart(2, '0')}`;
}

const utf8 = new TextDecoder('utf-8');
const decodeUtf8 = (raw: Uint8Array): string => utf8.decode(raw);
const MAX_LONG_BYTES = 1024;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export function unpickle(bytes: Uint8Array, options: UnpickleOptions): UnpickleResult {
  return new Machine(bytes, options).run();
}

class Machine {
  private readonly b: Uint8Array;
  private readonly view: DataView;
  private readonly opts: UnpickleOptions;
  private readonly limits: UnpickleLimits;
  private pos: number;
  /** Offset of the opcode being executed, for messages. */
  private at = 0;
  private op = 0;
  private readonly stack: unknown[] = [];
  /** Stack lengths at each open MARK (a flat stack instead of Python's metastack). */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, unknown>();
  private items = 0;

  constructor(bytes: Uint8Array, opts: UnpickleOptions) {
    this.b = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.opts = opts;
    this.limits = { ...defaultUnpickleLimits, ...opts.limits };
    this.pos = opts.offset ?? 0;
  }

  run(): UnpickleResult {
    for (;;) {
      this.at = this.pos;
      this.op = this.u8();
      if (this.op === 0x2e /* STOP */) return { value: this.pop(), end: this.pos };
      this.step(this.op);
    }
  }

  private step(op: number): void {
    switch (op) {
      // Framing and protocol: hints only.
      case 0x80: { // PROTO
        const proto = this.u8();
        if (proto > 5) this.bad(`unsupported pickle protocol ${proto}`);
        return;
      }
      case 0x95: this.u64(); return; // FRAME
      // Stack and marks.
      case 0x28: // MARK
        if (this.marks.length >= this.limits.maxMarks) this.bad(`more than ${this.limits.maxMarks} nested MARKs`);
        this.marks.push(this.stack.length);
        return;
      case 0x30: this.pop(); return; // POP
      case 0x31: this.popMark(); return; // POP_MARK
      case 0x32: this.push(this.top()); return; // DUP
      // Constants and numbers.
      case 0x4e: this.push(null); return; // NONE
      case 0x88: this.push(true); return; // NEWTRUE
      case 0x89: this.push(false); return; // NEWFALSE
      case 0x4a: this.push(this.view.getInt32(this.take(4), true)); return; // BININT
      case 0x4b: this.push(this.u8()); return; // BININT1
      case 0x4d: this.push(this.view.getUint16(this.take(2), true)); return; // BININT2
      case 0x8a: this.push(this.long(this.u8())); return; // LONG1
      case 0x8b: this.push(this.long(this.i32len())); return; // LONG4
      case 0x49: this.push(this.textInt(this.line(), true)); return; // INT
      case 0x4c: this.push(this.textInt(this.line().replace(/L$/, ''), false)); return; // LONG
      case 0x47: this.push(this.view.getFloat64(this.take(8), false)); return; // BINFLOAT (big-endian)
      case 0x46: this.push(this.textFloat(this.line())); return; // FLOAT
      // Strings and bytes. Python 2 str (BINSTRING) decodes as UTF-8, as torch.load does.
      case 0x58: this.push(utf8.decode(this.bytesOf(this.u32()))); return; // BINUNICODE
      case 0x8c: this.push(utf8.decode(this.bytesOf(this.u8()))); return; // SHORT_BINUNICODE
      case 0x8d: this.push(utf8.decode(this.bytesOf(this.u64()))); return; // BINUNICODE8
      case 0x56: this.push(decodeRawUnicodeEscape(this.line(decodeLatin1))); return; // UNICODE
      case 0x54: this.push(utf8.decode(this.bytesOf(this.i32len()))); return; // BINSTRING
      case 0x55: this.push(utf8.decode(this.bytesOf(this.u8()))); return; // SHORT_BINSTRING
      case 0x42: this.push(this.bytesOf(this.u32()).slice()); return; // BINBYTES
      case 0x43: this.push(this.bytesOf(this.u8()).slice()); return; // SHORT_BINBYTES
      case 0x8e: // BINBYTES8
      case 0x96: this.push(this.bytesOf(this.u64()).slice()); return; // BYTEARRAY8
      // Containers.
      case 0x29: this.push(makeTuple([])); return; // EMPTY_TUPLE
      case 0x74: this.push(makeTuple(this.count(this.popMark()))); return; // TUPLE
      case 0x85: this.push(makeTuple(this.count(this.popN(1)))); return; // TUPLE1
      case 0x86: this.push(makeTuple(this.count(this.popN(2)))); return; // TUPLE2
      case 0x87: this.push(makeTuple(this.count(this.popN(3)))); return; // TUPLE3
      case 0x5d: this.push([]); return; // EMPTY_LIST
      case 0x6c: this.push(this.count(this.popMark())); return; // LIST
      case 0x61: { // APPEND
        const item = this.pop();
        this.listOf(this.top()).push(this.count([item])[0]);
        return;
      }
      case 0x65: { // APPENDS
        const items = this.count(this.popMark());
        const list = this.listOf(this.top());
        for (const item of items) list.push(item);
        return;
      }
      case 0x7d: this.push(new Map()); return; // EMPTY_DICT
      case 0x64: { // DICT
        const map = new Map<unknown, unknown>();
        this.setPairs(map, this.popMark());
        this.push(map);
        return;
      }
      case 0x73: { // SETITEM
        const pair = this.popN(2);
        this.setPairs(this.dictOf(this.top()), pair);
        return;
      }
      case 0x75: { // SETITEMS
        const pairs = this.popMark();
        this.setPairs(this.dictOf(this.top()), pairs);
        return;
      }
      case 0x8f: this.push(new Set()); return; // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = this.count(this.popMark());
        const set = this.top();
        if (!(set instanceof Set)) this.bad(`ADDITEMS on ${describe(set)}`);
        for (const item of items) set.add(item);
        return;
      }
      case 0x91: this.push(new Set(this.count(this.popMark()))); return; // FROZENSET
      // Memo.
      case 0x71: this.put(this.u8()); return; // BINPUT
      case 0x72: this.put(this.u32()); return; // LONG_BINPUT
      case 0x70: this.put(this.memoKey(this.line())); return; // PUT
      case 0x94: this.put(this.memo.size); return; // MEMOIZE
      case 0x68: this.push(this.get(this.u8())); return; // BINGET
      case 0x6a: this.push(this.get(this.u32())); return; // LONG_BINGET
      case 0x67: this.push(this.get(this.memoKey(this.line()))); return; // GET
      // Globals and calls: allow-list only.
      case 0x63: { // GLOBAL
        const module = this.line();
        const name = this.line();
        this.push(this.global(module, name));
        return;
      }
      case 0x93: { // STACK_GLOBAL
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') this.bad('STACK_GLOBAL needs two strings');
        this.push(this.global(module, name));
        return;
      }
      case 0x52: { // REDUCE
        const args = this.pop();
        const fn = this.pop();
        this.push(this.callable(fn).call(this.argsOf(args)));
        return;
      }
      case 0x81: { // NEWOBJ
        const args = this.pop();
        const cls = this.pop();
        this.push(this.construct(cls, this.argsOf(args)));
        return;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = this.pop();
        const args = this.pop();
        const cls = this.pop();
        if (!(kwargs instanceof Map) || kwargs.size > 0) this.bad('NEWOBJ_EX with keyword arguments');
        this.push(this.construct(cls, this.argsOf(args)));
        return;
      }
      case 0x62: { // BUILD
        // Instance state (e.g. an OrderedDict's `_metadata`) is dropped: we never call __setstate__.
        this.pop();
        const target = this.top();
        if (!(target instanceof Map) && !isTensorLike(target)) this.bad(`BUILD on ${describe(target)}`);
        return;
      }
      // Persistent ids: tensor storages, resolved by the container.
      case 0x51: this.push(this.persistent(this.pop())); return; // BINPERSID
      case 0x50: this.push(this.persistent(this.line())); return; // PERSID
      default:
        throw new UnsafeCheckpointError(
          `Checkpoint pickle uses unsupported opcode ${opcodeName(op)} at byte ${this.at}`,
          { details: { opcode: opcodeName(op), offset: this.at } },
        );
    }
  }

  // --- reading -------------------------------------------------------------------------------

  /** Advances over n bytes and returns where they start; running out is a truncated stream. */
  private take(n: number): number {
    if (n > this.b.length - this.pos) {
      throw new BadCheckpointError(
        `Checkpoint pickle is truncated: ${opcodeName(this.op)} at byte ${this.at} needs ${n} bytes, ${Math.max(0, this.b.length - this.pos)} left`,
        { details: { opcode: opcodeName(this.op), offset: this.at } },
      );
    }
    const p = this.pos;
    this.pos += n;
    return p;
  }

  private u8(): number {
    return this.b[this.take(1)] as number;
  }

  private u32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  private i32len(): number {
    const n = this.view.getInt32(this.take(4), true);
    if (n < 0) this.bad(`negative length ${n}`);
    return n;
  }

  private u64(): number {
    const p = this.take(8);
    const hi = this.view.getUint32(p + 4, true);
    if (hi >= 0x200000) this.bad('64-bit length too large');
    return hi * 0x100000000 + this.view.getUint32(p, true);
  }

  private bytesOf(n: number): Uint8Array {
    const p = this.take(n);
    return this.b.subarray(p, p + n);
  }

  /** Python ints in a checkpoint are small; a huge LONG4 would only cost quadratic BigInt time. */
  private long(n: number): number | bigint {
    if (n > MAX_LONG_BYTES) this.bad(`integer of ${n} bytes is too long`);
    return decodeLong(this.bytesOf(n));
  }

  /** A protocol-0 argument: text up to (not including) the next newline. */
  private line(decode: (raw: Uint8Array) => string = decodeUtf8): string {
    const nl = this.b.indexOf(0x0a, this.pos);
    if (nl < 0) this.take(this.b.length - this.pos + 1); // reports truncation
    const text = decode(this.b.subarray(this.pos, nl));
    this.pos = nl + 1;
    return text;
  }

  private textInt(text: string, allowBool: boolean): number | bigint | boolean {
    if (allowBool && text === '00') return false;
    if (allowBool && text === '01') return true;
    const t = text.trim();
    if (!/^[+-]?\d+$/.test(t)) this.bad(`bad integer literal "${text}"`);
    return normaliseInt(BigInt(t));
  }

  private textFloat(text: string): number {
    const t = text.trim().toLowerCase();
    if (t === 'inf' || t === '+inf') return Infinity;
    if (t === '-inf') return -Infinity;
    if (t === 'nan' || t === '-nan' || t === '+nan') return NaN;
    const v = Number(t);
    if (t === '' || Number.isNaN(v)) this.bad(`bad float literal "${text}"`);
    return v;
  }

  private memoKey(text: string): number {
    if (!/^\d+$/.test(text)) this.bad(`bad memo key "${text}"`);
    return Number(text);
  }

  // --- stack ---------------------------------------------------------------------------------

  private push(value: unknown): void {
    if (this.stack.length >= this.limits.maxStack) this.bad(`stack deeper than ${this.limits.maxStack}`);
    this.stack.push(value);
  }

  /** The floor is the innermost MARK: values below it belong to an enclosing frame. */
  private floor(): number {
    return this.marks.length > 0 ? (this.marks[this.marks.length - 1] as number) : 0;
  }

  private pop(): unknown {
    if (this.stack.length <= this.floor()) this.bad('stack underflow');
    return this.stack.pop();
  }

  private popN(n: number): unknown[] {
    if (this.stack.length - n < this.floor()) this.bad('stack underflow');
    return this.stack.splice(this.stack.length - n, n);
  }

  private top(depth = 0): unknown {
    if (this.stack.length - depth <= this.floor()) this.bad('stack underflow');
    return this.stack[this.stack.length - 1 - depth];
  }

  private popMark(): unknown[] {
    const mark = this.marks.pop();
    if (mark === undefined) this.bad('no MARK to pop to');
    return this.stack.splice(mark);
  }

  private count<T>(items: T[]): T[] {
    this.items += items.length;
    if (this.items > this.limits.maxItems) this.bad(`more than ${this.limits.maxItems} container items`);
    return items;
  }

  private put(key: number): void {
    if (!this.memo.has(key) && this.memo.size >= this.limits.maxMemo) this.bad(`more than ${this.limits.maxMemo} memo entries`);
    this.memo.set(key, this.top());
  }

  private get(key: number): unknown {
    if (!this.memo.has(key)) this.bad(`memo key ${key} is missing`);
    return this.memo.get(key);
  }

  private listOf(value: unknown): unknown[] {
    if (!Array.isArray(value) || isTuple(value)) this.bad(`append to ${describe(value)}`);
    return value;
  }

  private dictOf(value: unknown): Map<unknown, unknown> {
    if (!(value instanceof Map)) this.bad(`set item on ${describe(value)}`);
    return value as Map<unknown, unknown>;
  }

  private setPairs(map: Map<unknown, unknown>, flat: unknown[]): void {
    if (flat.length % 2 !== 0) this.bad('odd number of items for a dict');
    this.count(flat);
    for (let i = 0; i < flat.length; i += 2) map.set(flat[i], flat[i + 1]);
  }

  // --- globals and calls ---------------------------------------------------------------------

  private global(module: string, name: string): unknown {
    const value = this.opts.resolveGlobal(module, name);
    if (value === undefined) throw forbiddenGlobal(`${module}.${name}`);
    return value;
  }

  private callable(fn: unknown): PyCallable {
    if (isCallable(fn)) return fn;
    throw new UnsafeCheckpointError(
      `Checkpoint pickle calls ${describe(fn)} with ${opcodeName(this.op)} at byte ${this.at}: only allowed functions may be called`,
      { details: { opcode: opcodeName(this.op), offset: this.at, ...globalDetail(fn) } },
    );
  }

  private construct(cls: unknown, args: readonly unknown[]): unknown {
    const c = this.callable(cls);
    if (!c.construct) {
      throw new UnsafeCheckpointError(
        `Checkpoint pickle instantiates "${c.name}" with ${opcodeName(this.op)}, which is not an allowed class`,
        { details: { opcode: opcodeName(this.op), offset: this.at, global: c.name } },
      );
    }
    return c.construct(args);
  }

  private argsOf(args: unknown): readonly unknown[] {
    if (!isTuple(args)) this.bad(`${opcodeName(this.op)} arguments must be a tuple, got ${describe(args)}`);
    return args;
  }

  private persistent(pid: unknown): unknown {
    if (!this.opts.persistentLoad) this.bad('persistent id in a pickle that cannot have external storages');
    return this.opts.persistentLoad(pid);
  }

  private bad(message: string): never {
    throw new BadCheckpointError(`Bad checkpoint pickle: ${message} (${opcodeName(this.op)} at byte ${this.at})`, {
      details: { opcode: opcodeName(this.op), offset: this.at },
    });
  }
}

export function forbiddenGlobal(name: string): UnsafeCheckpointError {
  return new UnsafeCheckpointError(`Checkpoint refers to forbidden global "${name}"`, { details: { global: name } });
}

function globalDetail(value: unknown): Record<string, unknown> {
  const name = (value as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? { global: name } : {};
}

function isTensorLike(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'tensor';
}

/** A short, safe description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'None';
  if (isTuple(value)) return `a tuple of ${value.length}`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value instanceof Map) return 'a dict';
  if (value instanceof Set) return 'a set';
  if (value instanceof Uint8Array) return 'bytes';
  if (typeof value === 'object') {
    const { kind, name } = value as { kind?: unknown; name?: unknown };
    if (typeof name === 'string') return `"${name}"`;
    if (typeof kind === 'string') return `a ${kind}`;
    return 'an object';
  }
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return `${typeof value} ${String(value)}`;
}

/** Little-endian two's complement, as LONG1/LONG4 store it. */
function decodeLong(raw: Uint8Array): number | bigint {
  if (raw.length === 0) return 0;
  let v = 0n;
  for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i] as number);
  if (((raw[raw.length - 1] as number) & 0x80) !== 0) v -= 1n << BigInt(8 * raw.length);
  return normaliseInt(v);
}

function normaliseInt(v: bigint): number | bigint {
  return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v;
}

/** True ISO-8859-1 (TextDecoder's "latin1" is windows-1252, which remaps 0x80..0x9f). */
export function decodeLatin1(raw: Uint8Array): string {
  let text = '';
  for (let i = 0; i < raw.length; i += 0x2000) {
    text += String.fromCharCode(...raw.subarray(i, i + 0x2000));
  }
  return text;
}

/** Python's raw-unicode-escape: latin-1 text where only \uXXXX and \UXXXXXXXX are escapes. */
function decodeRawUnicodeEscape(text: string): string {
  return text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4?: string, u8?: string) =>
    {
      const code = parseInt((u4 ?? u8) as string, 16);
      return code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd';
    },
  );
}
