import { concat } from './zip-writer.js';

/**
 * Test helper: assembles pickle bytes opcode by opcode (protocol 2 style, like torch.save), so
 * tests can build both well-formed state dicts and hostile streams.
 */
export class PickleWriter {
  private readonly parts: Uint8Array[] = [];

  raw(...bytes: number[]): this {
    this.parts.push(Uint8Array.from(bytes));
    return this;
  }
  op(char: string): this {
    return this.raw(char.charCodeAt(0));
  }
  proto(n = 2): this {
    return this.raw(0x80, n);
  }
  /** BININT1 / BININT2 / BININT by size. */
  int(v: number): this {
    if (v >= 0 && v < 256) return this.raw(0x4b, v);
    if (v >= 0 && v < 65536) return this.raw(0x4d, v & 0xff, v >> 8);
    const b = new Uint8Array(5);
    b[0] = 0x4a;
    new DataView(b.buffer).setInt32(1, v, true);
    this.parts.push(b);
    return this;
  }
  /** BINUNICODE. */
  str(s: string): this {
    const body = new TextEncoder().encode(s);
    const head = new Uint8Array(5);
    head[0] = 0x58;
    new DataView(head.buffer).setUint32(1, body.length, true);
    this.parts.push(head, body);
    return this;
  }
  /** SHORT_BINUNICODE (protocol 4). */
  shortStr(s: string): this {
    const body = new TextEncoder().encode(s);
    this.parts.push(Uint8Array.of(0x8c, body.length), body);
    return this;
  }
  /** GLOBAL "module\nname\n". */
  global(module: string, name: string): this {
    this.op('c');
    this.parts.push(new TextEncoder().encode(`${module}\n${name}\n`));
    return this;
  }
  mark(): this {
    return this.op('(');
  }
  tuple(): this {
    return this.op('t');
  }
  reduce(): this {
    return this.op('R');
  }
  stop(): this {
    return this.op('.');
  }
  /** A tuple of ints: MARK int... TUPLE. */
  ints(values: readonly number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  /**
   * Pushes `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`
   * with the storage as persistent id ('storage', torch.<storageType>, key, 'cpu', numel).
   */
  tensor(storageType: string, key: string, numel: number, offset: number, size: readonly number[], stride: readonly number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    this.mark().str('storage').global('torch', storageType).str(key).str('cpu').int(numel).tuple().op('Q');
    this.int(offset).ints(size).ints(stride).op('\x89');
    this.global('collections', 'OrderedDict').op(')').reduce();
    return this.tuple().reduce();
  }
  bytes(): Uint8Array {
    return concat(this.parts);
  }
}
