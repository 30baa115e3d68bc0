#!/usr/bin/env python3
"""Trains the demo model that scripts/demo.sh runs on by default: a small Llama-
architecture model with a SentencePiece-style BPE tokenizer (byte fallback, metaspace),
in the Hugging Face layout, fp16, under 4 MB. Runs on the GPU machine (torch,
transformers, tokenizers); the corpus comes from tools/build_demo_corpus.py.

  tools/train_demo_model.py --corpus DIR --out MODEL_DIR [--steps 1500]

Writes MODEL_DIR (config.json, generation_config.json, tokenizer.json,
tokenizer_config.json, model-0000x-of-0000N.safetensors + index) and
MODEL_DIR/training.json (settings, loss curve, held-out perplexity, a greedy sample).
"""
import argparse
import json
import math
import os
import random
import time

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

SPECIALS = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)]


def train_tokenizer(train_path, vocab):
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=True)
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(),
                                     decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=SPECIALS, show_progress=False)
    tok.train([train_path], trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                   unk_token="<unk>", model_max_length=512)


def batches(ids, seqlen, batch, rng):
    n = len(ids) - seqlen - 1
    while True:
        starts = [rng.randrange(n) for _ in range(batch)]
        yield torch.stack([ids[s:s + seqlen] for s in starts])


def perplexity(model, ids, seqlen, device):
    windows = len(ids) // seqlen
    nll, count = 0.0, 0
    with torch.no_grad():
        for w in range(windows):
            x = ids[w * seqlen:(w + 1) * seqlen][None].to(device)
            logits = model(x).logits.float()
            logp = torch.log_softmax(logits[0, :-1], -1)
            nll -= logp.gather(1, x[0, 1:, None]).sum().item()
            count += seqlen - 1
    return math.exp(nll / count)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seqlen", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    device = "cuda"

    train_path = os.path.join(a.corpus, "train.txt")
    tokenizer = train_tokenizer(train_path, a.vocab)
    ids = torch.tensor(tokenizer(open(train_path, encoding="utf-8").read())["input_ids"])
    eval_ids = torch.tensor(tokenizer(open(os.path.join(a.corpus, "eval.txt"), encoding="utf-8").read())["input_ids"])

    # Sizes chosen so every linear's input width is a multiple of 128 (group size 128
    # divides it) and every output width a multiple of 32 (3-bit packing), under 4 MB fp16.
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=128, intermediate_size=384,
                         num_hidden_layers=6, num_attention_heads=4, num_key_value_heads=2,
                         head_dim=32, max_position_embeddings=512, rms_norm_eps=1e-5,
                         tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    model = LlamaForCausalLM(config).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.95), weight_decay=0.1)
    warmup = 100
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / a.steps))))
    losses, t0 = [], time.time()
    it = batches(ids, a.seqlen, a.batch, rng)
    model.train()
    for step in range(a.steps):
        x = next(it).to(device)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        if step % 100 == 0 or step == a.steps - 1:
            losses.append([step, round(loss.item(), 4)])
            print(f"step {step} loss {loss.item():.3f} ({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    model = model.half()
    ppl = perplexity(model, eval_ids, a.seqlen, device)
    prompt = "To create a table in PostgreSQL, use the"
    x = torch.tensor([tokenizer(prompt)["input_ids"]], device=device)
    sample = tokenizer.decode(model.generate(x, max_new_tokens=24, do_sample=False)[0],
                              skip_special_tokens=True)
    os.makedirs(a.out, exist_ok=True)
    model.save_pretrained(a.out, max_shard_size="2MB")
    tokenizer.save_pretrained(a.out)
    params = sum(p.numel() for p in model.parameters())
    with open(os.path.join(a.out, "training.json"), "w") as f:
        json.dump({"parameters": params, "settings": vars(a), "train_tokens": len(ids),
                   "loss": losses, "eval_ppl_fp16_seqlen": [ppl, a.seqlen],
                   "greedy_sample": sample, "seconds": round(time.time() - t0, 1),
                   "device": torch.cuda.get_device_name(0),
                   "torch": torch.__version__,
                   "transformers": __import__("transformers").__version__,
                   "tokenizers": __import__("tokenizers").__version__}, f, indent=1)
    print(json.dumps({"parameters": params, "eval_ppl": ppl, "sample": sample}))


if __name__ == "__main__":
    main()
