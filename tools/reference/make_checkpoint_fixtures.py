#!/usr/bin/python3
"""Writes the tiny PyTorch checkpoints the checkpoint-reader tests read, plus expected.json.

Run from the repository root with Debian's python3-torch:

    /usr/bin/python3 tools/reference/make_checkpoint_fixtures.py

Output: packages/models/test/fixtures/checkpoints/*.pth and *.safetensors (each well under 20 KB) and
expected.json (every tensor of every readable fixture: dtype, shape, flattened values; int64 as
decimal strings, non-finite floats as "inf"/"-inf"/"nan"). Deterministic (fixed seeds), except
the legacy-format files (legacy*.pth), whose storage keys are memory addresses.

No safetensors module is needed: typed.safetensors is written by hand (write_safetensors).
"""
import collections
import io
import json
import os
import struct
import sys
import zipfile

import torch

torch.set_num_threads(2)
torch.manual_seed(0)

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'packages', 'models', 'test', 'fixtures', 'checkpoints')
MAX_BYTES = 20 * 1024


def typed_tensors():
    """One tensor per dtype and stride case the reader must handle."""
    base = torch.arange(20, dtype=torch.float32).reshape(4, 5)
    return collections.OrderedDict([
        ('conv.weight', torch.nn.Parameter(torch.arange(24, dtype=torch.float32).reshape(2, 3, 2, 2) / 7)),
        ('f16', torch.tensor([1.5, -2.25, 65504.0, 6e-8, float('inf'), 0.1, -0.0], dtype=torch.float16)),
        ('bf16', torch.tensor([1.0, -3.140625, 1e30, 0.1, float('-inf')], dtype=torch.bfloat16)),
        ('f64', torch.tensor([0.1, -1e300, 2.5], dtype=torch.float64)),
        ('i64', torch.tensor([0, -1, 2**53 + 1, -(2**62)], dtype=torch.int64)),
        ('i32', torch.tensor([-2**31, 7, 2**31 - 1], dtype=torch.int32)),
        ('i16', torch.tensor([-32768, 12, 32767], dtype=torch.int16)),
        ('i8', torch.tensor([-128, 0, 127], dtype=torch.int8)),
        ('u8', torch.tensor([0, 128, 255], dtype=torch.uint8)),
        ('bool', torch.tensor([True, False, True])),
        ('base', base),
        # Views of `base`: they share its storage (one data/<key> entry) with an offset and strides.
        ('sliced', base[1:, ::2]),
        ('transposed', base.t()),
        ('expanded', torch.tensor([1.0, 2.0]).expand(3, 2)),
        ('half_t', torch.arange(6, dtype=torch.float16).reshape(2, 3).t()),
        ('scalar', torch.tensor(3.5)),
        ('empty', torch.zeros(0, 3)),
    ])


def module_state_dict():
    """A real nn.Module state dict: OrderedDict with `_metadata` (BUILD), Parameters detached."""
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.PReLU(4), torch.nn.BatchNorm2d(4))
    return net.state_dict()


def srvgg_wrong_shapes():
    """SRVGGNetCompact keys (8 features, 1 body conv, x4) with one conv of the wrong width."""
    torch.manual_seed(2)
    shapes = [('body.0.weight', (8, 3, 3, 3)), ('body.0.bias', (8,)), ('body.1.weight', (8,)),
              ('body.2.weight', (8, 4, 3, 3)), ('body.2.bias', (8,)), ('body.3.weight', (8,)),
              ('body.4.weight', (48, 8, 3, 3)), ('body.4.bias', (48,))]
    return collections.OrderedDict((k, torch.randn(*s)) for k, s in shapes)


class Pwned:
    """Pickles as a call to os.system: what a malicious checkpoint does."""

    def __reduce__(self):
        return (os.system, ('echo pwned > /tmp/pwned',))


SAFETENSORS_DTYPES = {
    torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.float64: 'F64',
    torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8',
    torch.bool: 'BOOL',
}


def write_safetensors(path, tensors, metadata=None):
    """The safetensors layout: u64 LE header length, JSON header padded with spaces to a multiple
    of 8 (as the reference writer does), then each tensor's little-endian row-major bytes."""
    header = collections.OrderedDict()
    if metadata is not None:
        header['__metadata__'] = metadata
    chunks = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        a = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy()
        raw = a.astype(a.dtype.newbyteorder('<')).tobytes()
        header[name] = {'dtype': SAFETENSORS_DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(chunks))
    if os.path.getsize(path) > MAX_BYTES:
        sys.exit(f'{path} is over the {MAX_BYTES} byte fixture limit')


def encode(value):
    if value != value:
        return 'nan'
    if value in (float('inf'), float('-inf')):
        return 'inf' if value > 0 else '-inf'
    return value


def describe(sd):
    out = collections.OrderedDict()
    for key, t in sd.items():
        flat = t.detach().reshape(-1)
        if t.dtype == torch.int64:
            values = [str(int(v)) for v in flat.tolist()]
        elif t.dtype == torch.bool:
            values = [1 if v else 0 for v in flat.tolist()]
        elif t.dtype.is_floating_point:
            values = [encode(float(v)) for v in flat.float().tolist()] if t.dtype != torch.float64 else [encode(v) for v in flat.tolist()]
        else:
            values = [int(v) for v in flat.tolist()]
        out[key] = {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'values': values}
    return out


def save(name, obj, **kwargs):
    path = os.path.join(OUT, name)
    torch.save(obj, path, **kwargs)
    size = os.path.getsize(path)
    if size > MAX_BYTES:
        sys.exit(f'{name} is {size} bytes, over the {MAX_BYTES} byte fixture limit')
    return path


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = collections.OrderedDict()

    typed = typed_tensors()
    other = collections.OrderedDict([('conv.weight', torch.zeros(1))])
    # Nested like BasicSR training output; params_ema must win over params.
    save('nested-params-ema.pth', {'params': other, 'params_ema': typed, 'iter': 1000})
    expected['nested-params-ema.pth'] = {'nestedKey': 'params_ema', 'tensors': describe(typed)}

    sd = module_state_dict()
    # Saved to a path: the archive's top folder is the file's stem, not "archive".
    path = save('module-state-dict.pth', sd)
    with zipfile.ZipFile(path) as z:
        folders = sorted({n.split('/')[0] for n in z.namelist()})
    expected['module-state-dict.pth'] = {'nestedKey': None, 'folders': folders, 'tensors': describe(sd)}

    # Protocol 4: STACK_GLOBAL, MEMOIZE, FRAME, SHORT_BINUNICODE instead of protocol 2's opcodes.
    save('protocol4.pth', {'state_dict': typed}, pickle_protocol=4)
    expected['protocol4.pth'] = {'nestedKey': 'state_dict', 'tensors': describe(typed)}

    # A buffer save: top folder "archive", like the official Real-ESRGAN releases.
    buf = io.BytesIO()
    torch.save({'params': sd}, buf)
    with open(os.path.join(OUT, 'buffer-saved.pth'), 'wb') as f:
        f.write(buf.getvalue())
    expected['buffer-saved.pth'] = {'nestedKey': 'params', 'tensors': describe(sd)}

    save('legacy.pth', sd, _use_new_zipfile_serialization=False)
    # The legacy format with every dtype and view, nested; and with pickle protocol 4 (FRAME).
    save('legacy-typed.pth', {'params_ema': typed, 'iter': 7}, _use_new_zipfile_serialization=False)
    expected['legacy-typed.pth'] = {'nestedKey': 'params_ema', 'tensors': describe(typed)}
    save('legacy-protocol4.pth', sd, _use_new_zipfile_serialization=False, pickle_protocol=4)
    expected['legacy-protocol4.pth'] = {'nestedKey': None, 'tensors': describe(sd)}

    # safetensors holds contiguous tensors only: views are materialised by .contiguous().
    write_safetensors(os.path.join(OUT, 'typed.safetensors'), typed, {'format': 'pt', 'note': 'superres fixture'})
    expected['typed.safetensors'] = {'nestedKey': None, 'tensors': describe(typed)}
    save('no-state-dict.pth', [1, 2, 3])
    save('pwned.pth', {'params': sd, 'evil': Pwned()})
    save('srvgg-wrong-shapes.pth', {'params': srvgg_wrong_shapes()})

    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')
    for name in sorted(os.listdir(OUT)):
        print(f'{os.path.getsize(os.path.join(OUT, name)):>7}  {name}')


if __name__ == '__main__':
    main()
