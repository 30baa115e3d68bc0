#!/usr/bin/env python3
"""GPTQ checkpoints laid out and packed as each peer writes them, read by the
real gptq binary (path in argv[1]).

Every block linear of a shared test model is quantized here (round to
nearest, asymmetric, a tenth of the zero points forced to 0: the case where
the peers' v1 conventions part), packed with numpy re-implementations of
AutoGPTQ's and GPTQModel's own loops (tests/reference/peer_gptq_packers.py),
and saved with that tool's file names and configs. Its float twin holds each
linear as float32 scale * (q - z), with z as that tool's own reader gets it
back from the file. `gptq eval` must give the checkpoint exactly the twin's
perplexity; a second twin read the other tool's way shows the case is one
where the convention matters."""
import os
import sys
import unittest

import numpy as np

import gptq_cli as cli
import model_dirs as md
import peer_gptq_packers as peers  # on sys.path through model_dirs

LLAMA, OPT = "models/docs-llama-16m", "models/docs-opt-15m"
TEXT = "data/docs_heldout.txt"


def block_linears(tensors):
    return sorted(n[:-len(".weight")] for n, a in tensors.items()
                  if ".layers." in n and n.endswith(".weight") and a.ndim == 2)


def group_index(k, group_size, layout):
    """g_idx [K]: in order, or (act-order without static groups) each
    column's group scattered as a desc_act solve leaves it."""
    g = np.arange(k) // group_size
    if layout == "act_order":
        g = g[np.random.default_rng(k).permutation(k)]
    return g.astype(np.int32)


def quantize(w, bits, group_size, g_idx, seed):
    """RTN of W [N, K] on g_idx's groups: codes [K, N], scales fp16 [G, N],
    zeros [G, N] in [0, 2^b), about a tenth of them forced to 0."""
    n, k = w.shape
    maxq = (1 << bits) - 1
    groups = k // group_size
    rng = np.random.default_rng(seed)
    scales = np.zeros((groups, n), np.float16)
    zeros = np.zeros((groups, n), np.int64)
    codes = np.zeros((k, n), np.int64)
    for g in range(groups):
        cols = np.nonzero(g_idx == g)[0]
        x = w[:, cols].astype(np.float32)
        lo, hi = np.minimum(x.min(1), 0), np.maximum(x.max(1), 0)
        s = np.maximum((hi - lo) / maxq, 1e-6).astype(np.float16)
        z = np.clip(np.round(-lo / s.astype(np.float32)), 0, maxq).astype(np.int64)
        z[rng.random(n) < 0.1] = 0
        scales[g], zeros[g] = s, z
        codes[cols] = np.clip(np.round(x / s.astype(np.float32)[:, None]) + z[:, None], 0, maxq).T
    return codes, scales, zeros


# Layouts: model, bits, group, g_idx layout, the tool that packs, file layout, configs.
AUTOGPTQ_07 = dict(damp_percent=0.01, desc_act=False, static_groups=False, sym=False, true_sequential=True,
                   model_name_or_path=None, is_marlin_format=False, quant_method="gptq")
LAYOUTS = {
    # AutoGPTQ 0.7.1 save_quantized: gptq_model-4bit-128g.safetensors named by
    # model_file_base_name, config in both files, zero bias on every linear; a
    # second .safetensors beside it, so only the name can pick the file.
    "autogptq07_named": dict(model=LLAMA, bits=4, group=128, g="in_order", packer="autogptq",
                             file="gptq_model-4bit-128g", name_in_config=True, decoy=True, zero_bias=True,
                             config_json=True),
    # The same as AutoGPTQ usually left it: model_file_base_name null, act-order.
    "autogptq07_unnamed_act_order": dict(model=LLAMA, bits=4, group=128, g="act_order", packer="autogptq",
                                         file="gptq_model-4bit-128g", zero_bias=True, config_json=True,
                                         desc_act=True),
    # AutoGPTQ up to 0.6: quantize_config.json only (no quant_method), 2 bits.
    "autogptq06_quantize_config_only": dict(model=LLAMA, bits=2, group=64, g="in_order", packer="autogptq",
                                            file="gptq_model-2bit-64g", zero_bias=True, config_json=False,
                                            old_quantize_config=True),
    # OPT's real biases, AutoGPTQ layout.
    "autogptq07_opt_bias": dict(model=OPT, bits=4, group=128, g="in_order", packer="autogptq",
                                file="gptq_model-4bit-128g", config_json=True),
    # optimum + auto_gptq: sharded with an index, meta names both.
    "optimum_autogptq_sharded": dict(model=LLAMA, bits=8, group=128, g="in_order", packer="autogptq",
                                     shards=2, config_json=True, checkpoint_format="gptq",
                                     meta=["optimum:1.23.3", "auto_gptq:0.7.1"]),
    # GPTQModel v1: whole-word conversion, marked in meta.quantizer.
    "gptqmodel_v1_4bit_act_order": dict(model=LLAMA, bits=4, group=128, g="act_order", packer="gptqmodel",
                                        version="2.2.0", config_json=True, checkpoint_format="gptq",
                                        desc_act=True),
    "gptqmodel_v1_2bit": dict(model=LLAMA, bits=2, group=128, g="in_order", packer="gptqmodel", version="4.0.0",
                              config_json=True, checkpoint_format="gptq"),
    "gptqmodel_v1_8bit_opt": dict(model=OPT, bits=8, group=128, g="in_order", packer="gptqmodel",
                                  version="1.4.5", config_json=True, checkpoint_format="gptq"),
    "gptqmodel_v1_3bit_before_7": dict(model=LLAMA, bits=3, group=128, g="in_order", packer="gptqmodel",
                                       version="6.0.3", config_json=True, checkpoint_format="gptq"),
    "gptqmodel_v1_3bit_7": dict(model=LLAMA, bits=3, group=128, g="in_order", packer="gptqmodel",
                                version="7.1.0", config_json=True, checkpoint_format="gptq"),
    # GPTQModel v2, act-order with static groups (g_idx in order again); an
    # old meta form (one string).
    "gptqmodel_v2_static_groups": dict(model=LLAMA, bits=4, group=128, g="in_order", packer="gptqmodel",
                                       version="0.9.0", meta_string=True, config_json=True,
                                       checkpoint_format="gptq_v2", desc_act=True, static_groups=True),
}
# Sanitized builds run these only, without the other tool's twin (each eval
# costs seconds there; what they check is memory safety on each reading path).
SANITIZED_LAYOUTS = ("autogptq07_named", "gptqmodel_v1_3bit_before_7")


def major(version):
    return int(version.split(".")[0])


def pack(spec, codes, zeros):
    bits = spec["bits"]
    if spec["packer"] == "autogptq":
        return peers.pack_qweight(codes, bits), peers.autogptq_pack_qzeros(zeros, bits)
    qzeros = peers.gptqmodel_pack_qzeros_v2(zeros, bits)
    if spec["checkpoint_format"] == "gptq":
        qzeros = peers.gptqmodel_v2_to_v1(qzeros, bits, major(spec["version"]))
    return peers.pack_qweight(codes, bits), qzeros


def read_zeros(spec, qzeros, tool):
    """The zero points `tool` reads from the file it was given."""
    bits = spec["bits"]
    if spec.get("checkpoint_format") == "gptq_v2":
        return peers.unpack_fields_gptqmodel(qzeros, bits)
    if tool == "autogptq":
        return peers.autogptq_read_zeros(qzeros, bits)
    if tool == "vllm":  # q_gemm.cu: the masked field + 1, no wrap
        return peers.unpack_fields_gptqmodel(qzeros, bits) + 1
    return peers.gptqmodel_read_zeros(qzeros, bits, "gptq", major(spec.get("version", "2.0.0")))


def quantization_config(spec):
    q = dict(bits=spec["bits"], group_size=spec["group"])
    if spec["packer"] == "autogptq" and "meta" not in spec:
        q.update(AUTOGPTQ_07)
        q.update(desc_act=spec.get("desc_act", False),
                 model_file_base_name=spec["file"] if spec.get("name_in_config") else None)
        if spec.get("old_quantize_config"):
            for key in ("quant_method", "is_marlin_format", "static_groups"):
                del q[key]
        return q
    q.update(quant_method="gptq", desc_act=spec.get("desc_act", False), sym=False, true_sequential=True,
             static_groups=spec.get("static_groups", False), damp_percent=0.05,
             checkpoint_format=spec["checkpoint_format"], pack_dtype="int32")
    if spec["packer"] == "gptqmodel":
        tag = f"gptqmodel:{spec['version']}"
        q["meta"] = {"quantizer": tag if spec.get("meta_string") else [tag], "uri": "https://github.com/modelcloud/gptqmodel"}
    else:
        q["meta"] = {"quantizer": spec["meta"]}
    return q


class PeerCheckpoints(unittest.TestCase):
    """One checkpoint and its float twins per layout, built once."""

    @classmethod
    def setUpClass(cls):
        cls.dirs = md.TempDirs("layouts")
        cls.sources = {}

    @classmethod
    def tearDownClass(cls):
        cls.dirs.cleanup()

    def source(self, rel):
        if rel not in self.sources:
            path = cli.shared(rel)
            self.sources[rel] = (path, md.read_checkpoint(path), cli.read_json(os.path.join(path, "config.json")))
        return self.sources[rel]

    def build(self, name, spec, twin_readers):
        """Writes the checkpoint and one float twin per reader; returns their directories."""
        src, tensors, config = self.source(spec["model"])
        out = {n: a for n, a in tensors.items()}
        twins = {r: dict(out) for r in twin_readers}
        for i, prefix in enumerate(block_linears(tensors)):
            w = tensors[prefix + ".weight"].astype(np.float32)
            k = w.shape[1]
            g_idx = group_index(k, spec["group"], spec["g"])
            codes, scales, zeros = quantize(w, spec["bits"], spec["group"], g_idx, seed=i)
            qweight, qzeros = pack(spec, codes, zeros)
            del out[prefix + ".weight"]
            out.update({prefix + ".qweight": qweight, prefix + ".qzeros": qzeros, prefix + ".scales": scales,
                        prefix + ".g_idx": g_idx})
            if spec.get("zero_bias"):
                out[prefix + ".bias"] = np.zeros(w.shape[0], np.float16)
            for r in twin_readers:
                twins[r][prefix + ".weight"] = peers.dequantize(codes, read_zeros(spec, qzeros, r), scales, g_idx)
        ckpt = self.dirs.new(name, src)
        q = quantization_config(spec)
        if spec.get("config_json"):
            md.write_json(os.path.join(ckpt, "config.json"), dict(config, quantization_config=q))
        md.write_json(os.path.join(ckpt, "quantize_config.json"), q)
        if spec.get("shards"):
            md.write_sharded(ckpt, out, spec["shards"])
        else:
            md.write_safetensors(os.path.join(ckpt, spec.get("file", "model") + ".safetensors"), out,
                                 {"format": "pt"})
        if spec.get("decoy"):
            md.write_safetensors(os.path.join(ckpt, "adapter_model.safetensors"),
                                 {"lora_A": np.zeros((4, 4), np.float32)})
        dirs = {}
        for r, t in twins.items():
            dirs[r] = self.dirs.new(f"{name}.twin_{r}", src)
            md.write_safetensors(os.path.join(dirs[r], "model.safetensors"), t)
        return ckpt, dirs

    def check_layout(self, name, other_reader=None):
        spec = LAYOUTS[name]
        own = spec["packer"]
        readers = [own] + ([other_reader] if other_reader else [])
        ckpt, twins = self.build(name, spec, readers)
        text = cli.shared(TEXT)
        ppl = md.perplexity(ckpt, text)
        self.assertEqual(ppl, md.perplexity(twins[own], text), name)
        if other_reader:
            # The zeros of 0 in this file are read differently by the other
            # tool, enough to move the perplexity.
            self.assertNotEqual(ppl, md.perplexity(twins[other_reader], text), (name, other_reader))
        return ckpt


def add_layout_tests():
    others = {"gptqmodel_v1_4bit_act_order": "autogptq", "gptqmodel_v1_3bit_before_7": "autogptq",
              "autogptq06_quantize_config_only": "vllm", "autogptq07_named": "gptqmodel"}
    for name in LAYOUTS:
        def test(self, name=name):
            if cli.sanitized() and name not in SANITIZED_LAYOUTS:
                self.skipTest("sanitized build: a subset of the layouts")
            self.check_layout(name, None if cli.sanitized() else others.get(name))
        setattr(PeerCheckpoints, f"test_{name}", test)


add_layout_tests()


class NamesAndConfigs(unittest.TestCase):
    """Which file holds the weights, and configs that cannot be read
    unambiguously: refused with the file and the reason."""

    @classmethod
    def setUpClass(cls):
        cls.dirs = md.TempDirs("refused")
        cls.src = cli.shared(LLAMA)
        cls.tensors = md.read_checkpoint(cls.src)
        cls.config = cli.read_json(os.path.join(cls.src, "config.json"))

    @classmethod
    def tearDownClass(cls):
        cls.dirs.cleanup()

    def float_copy(self, name, files=None):
        d = self.dirs.new(name, self.src)
        for f, tensors in (files or {"model.safetensors": self.tensors}).items():
            md.write_safetensors(os.path.join(d, f), tensors)
        return d

    def test_several_files_without_index_are_listed(self):
        names = sorted(self.tensors)
        half = len(names) // 2
        d = self.float_copy("several", {"a.safetensors": {n: self.tensors[n] for n in names[:half]},
                                        "b.safetensors": {n: self.tensors[n] for n in names[half:]}})
        p = cli.run("inspect", d, check_rc=1)
        self.assertIn("'a.safetensors', 'b.safetensors'", p.stderr)

    def test_a_lone_file_of_any_name_is_read(self):
        d = self.float_copy("lone", {"weights-fp16.safetensors": self.tensors})
        p = cli.run("inspect", d, "--json", check_rc=0)
        self.assertIn("weights-fp16.safetensors", p.stdout)

    def test_a_named_file_that_is_missing(self):
        d = self.float_copy("named_missing", {"model-q.safetensors": self.tensors})
        md.write_json(os.path.join(d, "quantize_config.json"),
                      {"bits": 4, "group_size": 128, "model_file_base_name": "gptq_model-4bit-128g"})
        p = cli.run("inspect", d, check_rc=1)
        self.assertIn("gptq_model-4bit-128g", p.stderr)
        self.assertIn("model-q.safetensors", p.stderr)

    def test_marlin_format_and_other_pack_dtypes(self):
        for field, value, expect in (("is_marlin_format", True, "Marlin"), ("pack_dtype", "int16", "int16"),
                                     ("checkpoint_format", "gptq_p", "gptq_p")):
            d = self.float_copy(f"refuse_{field}")
            md.write_json(os.path.join(d, "config.json"),
                          dict(self.config, quantization_config={"quant_method": "gptq", "bits": 4, field: value}))
            p = cli.run("inspect", d, check_rc=1)
            self.assertIn(field, p.stderr)
            self.assertIn(expect, p.stderr)

    def test_configs_that_disagree(self):
        d = self.float_copy("disagree")
        md.write_json(os.path.join(d, "config.json"),
                      dict(self.config, quantization_config={"quant_method": "gptq", "bits": 4, "group_size": 128}))
        md.write_json(os.path.join(d, "quantize_config.json"), {"bits": 3, "group_size": 128})
        p = cli.run("inspect", d, check_rc=1)
        self.assertIn("disagree on bits", p.stderr)

    def test_a_bias_llama_cannot_have(self):
        # A zero bias on a Llama linear is what AutoGPTQ saved and is ignored
        # (PeerCheckpoints); any other value would be silently dropped.
        t = dict(self.tensors)
        prefix = "model.layers.2.mlp.up_proj"
        bias = np.zeros(t[prefix + ".weight"].shape[0], np.float16)
        bias[7] = 0.25
        t[prefix + ".bias"] = bias
        d = self.float_copy("bias", {"model.safetensors": t})
        p = cli.run("eval", d, "--ppl", cli.shared(TEXT), "--seqlen", "32", "--max-windows", "1", check_rc=1)
        self.assertIn(prefix + ".bias", p.stderr)
        self.assertIn("element 7", p.stderr)


if __name__ == "__main__":
    cli.GPTQ = sys.argv.pop(1)
    unittest.main(verbosity=2)
