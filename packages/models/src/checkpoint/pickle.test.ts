import { BadCheckpointError, UnsafeCheckpointError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { isTuple, unpickle, type GlobalResolver, type PyCallable } from './pickle.js';
import { PickleWriter } from './test-support/pickle-writer.js';
import { resolveTorchGlobal } from './torch-globals.js';

const load = (bytes: Uint8Array | number[], extra: { persistentLoad?: (pid: unknown) => unknown } = {}): unknown =>
  unpickle(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes), { resolveGlobal: resolveTorchGlobal, ...extra }).value;
const bin = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

function thrown(fn: () => unknown): Error & { details?: Record<string, unknown> } {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('unpickle: data opcodes', () => {
  it('decodes protocol 2 scalars, strings and containers', () => {
    // Python: pickle.dumps({'a': [1, -2, 300, 70000, True, None, 1.5], 'b': (b'\x00\xff', 'é')}, 2)
    // written by hand with the same opcodes.
    const w = new PickleWriter().proto(2).op('}').mark();
    w.str('a').op(']').mark().int(1).int(-2).int(300).int(70000).op('\x88').op('N');
    w.raw(0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0).op('e');
    w.str('b').raw(0x43, 2, 0x00, 0xff).raw(0x8c, 2, 0xc3, 0xa9).op('\x86');
    w.op('u').stop();
    const value = load(w.bytes()) as Map<string, unknown>;
    expect(value).toBeInstanceOf(Map);
    expect(value.get('a')).toEqual([1, -2, 300, 70000, true, null, 1.5]);
    const b = value.get('b') as readonly unknown[];
    expect(isTuple(b)).toBe(true);
    expect(b[0]).toEqual(new Uint8Array([0, 255]));
    expect(b[1]).toBe('é');
  });

  it('keeps Python ints past 2^53 as bigint (LONG1, LONG4, text LONG)', () => {
    // LONG1 of 2**60 and of -1; LONG4 of 2**53 + 1; LONG1 of 0 bytes is 0.
    expect(load([0x80, 2, 0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x2e])).toBe(2n ** 60n);
    expect(load([0x8a, 1, 0xff, 0x2e])).toBe(-1);
    expect(load([0x8b, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x20, 0x2e])).toBe(2n ** 53n + 1n);
    expect(load([0x8a, 0, 0x2e])).toBe(0);
    expect(load(bin('L123456789012345678901L\n.'))).toBe(123456789012345678901n);
  });

  it('runs protocol 0 text opcodes', () => {
    // pickle.dumps([1, True, 2.5, 'h\u00e9\u20ac', (7,)], 0) with a dict and memo refs.
    const p0 = bin('(lp0\nI1\naI01\naF2.5\naVh\xe9\\u20ac\np1\na(I7\ntp2\nag2\na(dp3\nVk\np4\nI-5\nsa.');
    expect(load(p0)).toEqual([1, true, 2.5, 'hé€', [7], [7], new Map([['k', -5]])]);
    expect(load(bin('Finf\n.'))).toBe(Infinity);
    expect(load(bin('I00\n.'))).toBe(false);
  });

  it('handles memo, DUP, POP, POP_MARK, sets and frozensets', () => {
    // [x, x] with x memoised; a set via EMPTY_SET/ADDITEMS; a frozenset; POP/POP_MARK leftovers.
    const w = new PickleWriter().proto(4).op(']').mark();
    w.op(']').op('\x94').raw(0x68, 0).op('\x8f').mark().int(1).int(2).op('\x90');
    w.mark().int(3).op('\x91').int(9).op('0').mark().int(8).op('1').op('e').stop();
    const [a, b, set, frozen] = load(w.bytes()) as unknown[];
    expect(a).toBe(b);
    expect(set).toEqual(new Set([1, 2]));
    expect(frozen).toEqual(new Set([3]));
  });

  it('builds OrderedDict by REDUCE, NEWOBJ and from pairs, and ignores BUILD state', () => {
    const w = new PickleWriter().proto(2).op(']');
    w.global('collections', 'OrderedDict').op(')').reduce().str('k').int(1).op('s');
    w.op('}').mark().str('_metadata').op('}').op('u').op('b').op('a');
    w.global('collections', 'OrderedDict').op(')').op('\x81').op('a');
    w.global('collections', 'OrderedDict').op(']').mark().str('x').int(2).op('\x86').op('e').op('\x85').reduce().op('a');
    w.global('__builtin__', 'set').op(']').mark().int(4).op('e').op('\x85').reduce().op('a');
    w.global('_codecs', 'encode').str('\u00ff\u0001').str('latin1').op('\x86').reduce().op('a').stop();
    expect(load(w.bytes())).toEqual([
      new Map([['k', 1]]),
      new Map(),
      new Map([['x', 2]]),
      new Set([4]),
      new Uint8Array([0xff, 1]),
    ]);
  });

  it('hands persistent ids to the container and returns where the pickle ended', () => {
    const seen: unknown[] = [];
    const w = new PickleWriter().proto(2).str('pid').op('Q').op('P').raw(0x41, 0x0a).op('\x86').stop();
    const bytes = w.bytes();
    const result = unpickle(new Uint8Array([...bytes, 0x99]), {
      resolveGlobal: resolveTorchGlobal,
      persistentLoad: (pid) => (seen.push(pid), `loaded:${String(pid)}`),
    });
    expect(seen).toEqual(['pid', 'A']);
    expect(result.value).toEqual(['loaded:pid', 'loaded:A']);
    expect(result.end).toBe(bytes.length);
  });
});

describe('unpickle: refusals', () => {
  it('refuses os.system named by GLOBAL, before anything is called', () => {
    const asked: string[] = [];
    const resolve: GlobalResolver = (m, n) => (asked.push(`${m}.${n}`), resolveTorchGlobal(m, n));
    const bytes = new PickleWriter().proto(2).global('os', 'system').str('echo pwned').op('\x85').reduce().stop().bytes();
    const error = thrown(() => unpickle(bytes, { resolveGlobal: resolve }));
    expect(error).toBeInstanceOf(UnsafeCheckpointError);
    expect(error.message).toBe('Checkpoint refers to forbidden global "os.system"');
    expect(error.details).toEqual({ global: 'os.system' });
    expect(asked).toEqual(['os.system']);
  });

  it('refuses os.system named by STACK_GLOBAL then REDUCE', () => {
    const bytes = new PickleWriter().proto(4).shortStr('os').shortStr('system').op('\x93').shortStr('id').op('\x85').reduce().stop().bytes();
    const error = thrown(() => load(bytes));
    expect(error).toBeInstanceOf(UnsafeCheckpointError);
    expect(error.details?.global).toBe('os.system');
  });

  it.each([
    ['builtins', 'eval'],
    ['__builtin__', 'exec'],
    ['subprocess', 'Popen'],
    ['torch.nn', 'Module'],
    ['torch', 'load'],
    ['numpy.core.multiarray', '_reconstruct'],
  ])('refuses %s.%s', (module, name) => {
    const error = thrown(() => load(new PickleWriter().global(module, name).stop().bytes()));
    expect(error).toBeInstanceOf(UnsafeCheckpointError);
    expect(error.details?.global).toBe(`${module}.${name}`);
  });

  it.each([
    ['INST', bin('(ios\nsystem\n.')],
    ['OBJ', bin('(o.')],
    ['EXT1', [0x82, 1, 0x2e]],
    ['EXT2', [0x83, 1, 0, 0x2e]],
    ['EXT4', [0x84, 1, 0, 0, 0, 0x2e]],
    ['STRING', bin("S'x'\n.")],
    ['NEXT_BUFFER', [0x97, 0x2e]],
    ['0xff', [0xff]],
  ])('refuses the unsupported opcode %s', (name, bytes) => {
    const error = thrown(() => load(bytes instanceof Uint8Array ? bytes : (bytes as number[])));
    expect(error).toBeInstanceOf(UnsafeCheckpointError);
    expect(error.details?.opcode).toBe(name);
    expect(error.message).toContain(name);
  });

  it('calls only allowed functions: REDUCE on data, NEWOBJ on a non-class', () => {
    const onString = new PickleWriter().str('os.system').op(')').reduce().stop().bytes();
    expect(thrown(() => load(onString))).toBeInstanceOf(UnsafeCheckpointError);
    const storageType = new PickleWriter().global('torch', 'FloatStorage').op(')').reduce().stop().bytes();
    expect(thrown(() => load(storageType)).details?.global).toBe('torch.FloatStorage');
    const newobj = new PickleWriter().global('torch._utils', '_rebuild_tensor_v2').op(')').op('\x81').stop().bytes();
    const error = thrown(() => load(newobj));
    expect(error).toBeInstanceOf(UnsafeCheckpointError);
    expect(error.details).toMatchObject({ opcode: 'NEWOBJ', global: 'torch._utils._rebuild_tensor_v2' });
  });

  it('a custom resolver is the only source of callables', () => {
    let called = false;
    const spy: PyCallable = { kind: 'callable', name: 'test.spy', call: () => ((called = true), 1) };
    const bytes = new PickleWriter().global('test', 'spy').op(')').reduce().stop().bytes();
    expect(unpickle(bytes, { resolveGlobal: (m) => (m === 'test' ? spy : undefined) }).value).toBe(1);
    expect(called).toBe(true);
  });
});

describe('unpickle: malformed and abusive streams', () => {
  it.each([
    ['empty', []],
    ['no STOP', [0x80, 2, 0x4e]],
    ['cut BININT', [0x4a, 1, 2]],
    ['cut BINUNICODE', [0x58, 10, 0, 0, 0, 0x61]],
    ['cut text line', [...bin('I12')]],
    ['huge BINBYTES8', [0x8e, 0, 0, 0, 0, 1, 0, 0, 0, 0x2e]],
  ])('reports a truncated stream (%s) as BadCheckpointError', (_name, bytes) => {
    const error = thrown(() => load(bytes as number[]));
    expect(error).toBeInstanceOf(BadCheckpointError);
    expect(error.message).toMatch(/truncated/);
  });

  it.each([
    ['stack underflow', [0x30, 0x2e], /stack underflow/],
    ['missing memo key', [0x68, 5, 0x2e], /memo key 5/],
    ['append to a dict', [0x7d, 0x4e, 0x61, 0x2e], /append to a dict/],
    ['popping below a MARK', [0x4e, 0x28, 0x30, 0x2e], /stack underflow/],
    ['SETITEMS without MARK', [0x7d, 0x75, 0x2e], /no MARK/],
    ['REDUCE with non-tuple args', [...bin('ccollections\nOrderedDict\n'), 0x5d, 0x52, 0x2e], /must be a tuple/],
    ['protocol 9', [0x80, 9, 0x4e, 0x2e], /protocol 9/],
    ['persistent id without a container', [0x4e, 0x51, 0x2e], /persistent id/],
  ])('rejects %s', (_name, bytes, message) => {
    const error = thrown(() => load(bytes as number[]));
    expect(error).toBeInstanceOf(BadCheckpointError);
    expect(error.message).toMatch(message as RegExp);
  });

  it('bounds memo size, mark depth and stack depth', () => {
    const limits = { maxMemo: 4, maxMarks: 3, maxStack: 10, maxItems: 5 };
    const opts = { resolveGlobal: resolveTorchGlobal, limits };
    const memo = new PickleWriter().op('N');
    for (let i = 0; i < 6; i++) memo.raw(0x71, i);
    expect(thrown(() => unpickle(memo.stop().bytes(), opts)).message).toMatch(/memo entries/);
    expect(thrown(() => unpickle(Uint8Array.from([0x28, 0x28, 0x28, 0x28, 0x2e]), opts)).message).toMatch(/MARKs/);
    expect(thrown(() => unpickle(new Uint8Array(20).fill(0x4e), opts)).message).toMatch(/stack deeper/);
    const items = new PickleWriter().op(']').mark().int(1).int(2).int(3).op('e').mark().int(4).int(5).int(6).op('e').stop();
    expect(thrown(() => unpickle(items.bytes(), opts)).message).toMatch(/container items/);
  });
});
