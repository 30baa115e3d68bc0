#!/usr/bin/env python3
"""How AutoGPTQ and GPTQModel pack GPTQ tensors and read them back, in numpy.

Each function follows the loop of the peer's source named in its docstring
(AutoGPTQ v0.7.1, GPTQModel at its v0.9-v7.x tags), written with numpy
instead of torch: uint32 arithmetic wraps as torch's int32 does. Nothing here
shares code with libgptq's packer (core/gptq_format/gptq_packing.cpp) or with
tests/reference/gptq_pack_ref.py; tests use these to write checkpoints the
way each peer writes them, and to compute what each peer reads from them
(the float twin a checkpoint must evaluate like).

Shapes: codes are intweight [K, N] (input columns along axis 0, as the
packers hold them after `intweight.t()`); zeros [G, N] (true zero points,
as the quantizer gives them); qweight [K*b/32, N]; qzeros [G, N*b/32].
"""
import numpy as np

# GPTQModel's v1 <-> v2 word constants (gptqmodel/utils/model.py,
# convert_gptq_v{1_to_v2,2_to_v1}_format_module, pack_dtype int32).
GPTQMODEL_WORD_OFFSET = {2: 0b01010101010101010101010101010101,
                         4: 0b00010001000100010001000100010001,
                         8: 0b00000001000000010000000100000001}
# 3 bits before v7.0.0: one constant per qzeros column c, by c % 3.
GPTQMODEL_OLD_3BIT_OFFSETS = (0b00100100100100100100100100100100,
                              0b10010010010010010010010010010010,
                              0b01001001001001001001001001001001)


def _pack_rows(values, bits):
    """The packing loop of AutoGPTQ qlinear_cuda_old.QuantLinear.pack (qweight
    part, lines `while row < qweight.shape[0]`), which GPTQModel keeps in
    PackableQuantLinear.pack_original: values uint32 [count, cols] -> uint32
    [count*bits/32, cols], along axis 0. Bits above a value's field are NOT
    masked: a value >= 2^bits spills into the next fields, as in the source."""
    values = values.astype(np.uint32)
    out = np.zeros((values.shape[0] // 32 * bits, values.shape[1]), dtype=np.uint32)
    i = 0
    row = 0
    while row < out.shape[0]:
        if bits in (2, 4, 8):
            for j in range(i, i + (32 // bits)):
                out[row] |= values[j] << np.uint32(bits * (j - i))
            i += 32 // bits
            row += 1
        elif bits == 3:
            for j in range(i, i + 10):
                out[row] |= values[j] << np.uint32(3 * (j - i))
            i += 10
            out[row] |= values[i] << np.uint32(30)
            row += 1
            out[row] |= (values[i] >> np.uint32(2)) & np.uint32(1)
            i += 1
            for j in range(i, i + 10):
                out[row] |= values[j] << np.uint32(3 * (j - i) + 1)
            i += 10
            out[row] |= values[i] << np.uint32(31)
            row += 1
            out[row] |= (values[i] >> np.uint32(1)) & np.uint32(0x3)
            i += 1
            for j in range(i, i + 10):
                out[row] |= values[j] << np.uint32(3 * (j - i) + 2)
            i += 10
            row += 1
        else:
            raise ValueError(bits)
    return out


def pack_qweight(intweight_kn, bits):
    """qweight as AutoGPTQ's and GPTQModel's pack() write it (same loop)."""
    return _pack_rows(intweight_kn, bits).view(np.int32)


def autogptq_pack_qzeros(zeros_gn, bits):
    """AutoGPTQ v0.7.1 qlinear_cuda_old.QuantLinear.pack (also qlinear_cuda,
    qlinear_exllama, qlinear_triton): `zeros -= 1;
    zeros = zeros.numpy().astype(np.uint32)`, then the same loop along N with
    `qzeros[:, col] |= zeros[:, j] << (bits * (j - i))`. zeros are floats
    there; -1.0 -> uint32 is 0xFFFFFFFF on x86, spelled here through int64 so
    it does not rest on a float-to-unsigned cast. A zero of 0 thus sets its
    field and every higher field of the word to all ones."""
    stored = (np.asarray(zeros_gn, dtype=np.int64) - 1).astype(np.uint32)
    return _pack_rows(stored.T, bits).T.copy().view(np.int32)


def gptqmodel_pack_qzeros_v2(zeros_gn, bits):
    """GPTQModel PackableQuantLinear.pack_block / pack_original (qzeros
    part): the true zeros packed with the same loop, no -1 (its internal
    format is v2)."""
    return _pack_rows(np.asarray(zeros_gn, dtype=np.int64).astype(np.uint32).T, bits).T.copy().view(np.int32)


def gptqmodel_v2_to_v1(qzeros_v2, bits, version_major):
    """GPTQModel convert_gptq_v2_to_v1_format_module, applied at save for
    checkpoint_format "gptq": whole int32 words minus a constant (2/4/8
    bits); 3 bits: before v7.0.0 a constant per word column, from v7.0.0
    each field minus 1 mod 8 (_revert_gptq_v1_qzeros_correction)."""
    w = qzeros_v2.view(np.uint32).copy()
    if bits in GPTQMODEL_WORD_OFFSET:
        w -= np.uint32(GPTQMODEL_WORD_OFFSET[bits])
    elif version_major < 7:
        for c in range(w.shape[1]):
            w[:, c] -= np.uint32(GPTQMODEL_OLD_3BIT_OFFSETS[c % 3])
    else:
        zeros = unpack_fields_gptqmodel(w.view(np.int32), 3)
        w = _pack_rows(((zeros - 1) & 7).astype(np.uint32).T, 3).T.copy()
    return w.view(np.int32)


def gptqmodel_v1_to_v2(qzeros_v1, bits, version_major):
    """GPTQModel convert_gptq_v1_to_v2_format_module, applied at load: the
    inverse of gptqmodel_v2_to_v1 (plus the constants, or each 3-bit field
    plus 1 mod 8 from v7.0.0, _correct_gptq_v1_qzeros)."""
    w = qzeros_v1.view(np.uint32).copy()
    if bits in GPTQMODEL_WORD_OFFSET:
        w += np.uint32(GPTQMODEL_WORD_OFFSET[bits])
    elif version_major < 7:
        for c in range(w.shape[1]):
            w[:, c] += np.uint32(GPTQMODEL_OLD_3BIT_OFFSETS[c % 3])
    else:
        zeros = unpack_fields_gptqmodel(w.view(np.int32), 3)
        w = _pack_rows(((zeros + 1) & 7).astype(np.uint32).T, 3).T.copy()
    return w.view(np.int32)


_WF3 = np.array([[0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 0],
                 [0, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31],
                 [0, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 0]], dtype=np.int64)


def unpack_fields_gptqmodel(qzeros, bits):
    """The fields of qzeros [G, N*b/32] -> [G, N], as GPTQModel's
    PackableQuantLinear.dequantize_weight unpacks them (v2: no +1): 2/4/8
    bits `(qzeros >> wf) & maxq`; 3 bits the 12-lane split with values 10 and
    21 stitched across words, then `& 0x7`. Right shifts are arithmetic on
    int32, as torch's."""
    q = qzeros.astype(np.int64)  # sign-extended int32, shifts as torch's
    g = q.shape[0]
    if bits in (2, 4, 8):
        wf = np.arange(0, 32, bits, dtype=np.int64)
        return ((q[:, :, None] >> wf[None, None, :]) & ((1 << bits) - 1)).reshape(g, -1)
    z = q.reshape(g, q.shape[1] // 3, 3, 1) >> _WF3[None, None, :, :]
    z[:, :, 0, 10] = (z[:, :, 0, 10] & 0x3) | ((z[:, :, 1, 0] << 2) & 0x4)
    z[:, :, 1, 11] = (z[:, :, 1, 11] & 0x1) | ((z[:, :, 2, 0] << 1) & 0x6)
    z = z & 0x7
    return np.concatenate([z[:, :, 0, :11], z[:, :, 1, 1:12], z[:, :, 2, 1:11]], axis=2).reshape(g, -1)


def autogptq_read_zeros(qzeros, bits):
    """AutoGPTQ v0.7.1 qlinear_cuda_old.QuantLinear.forward, torch path
    (bits 2/4/8): `(qzeros >> wf).to(int8 or int16)`, then `zeros + 1`, then
    `& (2**bits - 1)`: each field plus 1, mod 2^bits (all ones reads 0). 3
    bits: its 3-word split, then the same +1 and mask."""
    q = qzeros.astype(np.int64)
    g = q.shape[0]
    mask = (1 << bits) - 1
    if bits in (2, 4, 8):
        wf = np.arange(0, 32, bits, dtype=np.int64)
        narrow = np.int16 if bits == 8 else np.int8
        shifted = (q[:, :, None] >> wf[None, None, :]).astype(narrow)  # keeps the low 8/16 bits
        return ((shifted.astype(np.int64) + 1) & mask).reshape(g, -1)
    return (unpack_fields_gptqmodel(qzeros, 3) + 1) & mask


def gptqmodel_read_zeros(qzeros, bits, checkpoint_format, version_major):
    """What GPTQModel reads: v1 converted to v2 at load
    (convert_gptq_v1_to_v2_format), then the fields as they are."""
    if checkpoint_format == "gptq":
        qzeros = gptqmodel_v1_to_v2(qzeros, bits, version_major)
    return unpack_fields_gptqmodel(qzeros, bits)


def unpack_qweight(qweight, bits, k):
    """Codes [K, N] from qweight (the fields along K, v1 and v2 alike)."""
    return unpack_fields_gptqmodel(qweight.T.copy(), bits)[:, :k].T.copy()


def dequantize(codes_kn, zeros_gn, scales_gn_f16, g_idx):
    """W [N, K] float32 = scale * (q - z), the fp16 scale widened exactly and
    the integer difference exact: one rounding, as libgptq's float path."""
    s = scales_gn_f16.astype(np.float32)[g_idx, :]          # [K, N]
    d = (codes_kn.astype(np.int64) - zeros_gn[g_idx, :].astype(np.int64)).astype(np.float32)
    return (s * d).T.copy()


def self_test():
    """The loops against hand-computed words (run: python3 peer_gptq_packers.py)."""
    z = np.array([[0, 5, 1, 2, 3, 4, 6, 7] * 4], dtype=np.int64)  # [G=1, N=32], 4 bits
    a = autogptq_pack_qzeros(z, 4).view(np.uint32)
    # Field 0 stores -1: all 32 bits set, so every higher field is 0xF too.
    assert a[0, 0] == 0xFFFFFFFF, hex(a[0, 0])
    assert (autogptq_read_zeros(a.view(np.int32), 4) == 0).all()  # every word has a zero of 0 first
    v2 = gptqmodel_pack_qzeros_v2(z, 4).view(np.uint32)
    assert v2[0, 0] == 0x76432150, hex(v2[0, 0])
    v1 = gptqmodel_v2_to_v1(v2.view(np.int32), 4, 2).view(np.uint32)
    assert v1[0, 0] == (0x76432150 - 0x11111111) & 0xFFFFFFFF == 0x6532103F, hex(v1[0, 0])
    assert (gptqmodel_read_zeros(v1.view(np.int32), 4, "gptq", 2) == z).all()
    # Per field, the borrow shows: field 1 reads 4 instead of 5.
    assert autogptq_read_zeros(v1.view(np.int32), 4)[0, 1] == 4
    for bits in (2, 3, 4, 8):
        rng = np.random.default_rng(bits)
        zz = rng.integers(0, 1 << bits, size=(3, 64))
        for major in (6, 7):
            packed = gptqmodel_v2_to_v1(gptqmodel_pack_qzeros_v2(zz, bits), bits, major)
            assert (gptqmodel_read_zeros(packed, bits, "gptq", major) == zz).all(), (bits, major)
        codes = rng.integers(0, 1 << bits, size=(64, 32))
        assert (unpack_qweight(pack_qweight(codes, bits), bits, 64) == codes).all(), bits
        nz = np.maximum(zz, 1)
        assert (autogptq_read_zeros(autogptq_pack_qzeros(nz, bits), bits) == nz).all(), bits
    print("peer_gptq_packers: ok")


if __name__ == "__main__":
    self_test()
