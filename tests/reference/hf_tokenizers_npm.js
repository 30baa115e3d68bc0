#!/usr/bin/env node
// Hugging Face tokenizers as a reference, through the npm package `tokenizers` (the
// same Rust library as the Python package of the same version). Used by the scripts
// that make tokenizer goldens and by the differential fuzz run; never by CI.
//
//   NODE_PATH=/path/to/dir/node_modules node tests/reference/hf_tokenizers_npm.js < request.json
//
// where the folder holds `npm install tokenizers@0.23.2`. The request (JSON on stdin):
//   {"op": "version"}
//   {"op": "normalize", "texts": [...]}                 -> [[nfc, nfd], ...]
//   {"op": "encode", "tokenizer": "x/tokenizer.json", "texts": [...], "decode": bool}
//       -> {"load_s": s, "cases": [{"ids": [...], "ids_no_special": [...],
//            "decoded": "...", "decoded_skip": "..."}, ...]}   (decoded*: with "decode")
//   {"op": "decode", "tokenizer": "x/tokenizer.json", "ids": [[...], ...]} -> ["text", ...]
//   {"op": "bench", "tokenizer": "x/tokenizer.json", "text_file": "t.txt", "strip_spaces": bool,
//    "runs": n} -> {"load_s": [...], "encode_s": [...], "count": ids, "bytes": n}
//       n timed loads, then one warm-up encode and n timed encodes of the whole text
//       (one call, special tokens added; spaces removed first with strip_spaces).
// The answer is {"version": "<tokenizers version>", "results": ...} on stdout.
'use strict';
const fs = require('fs');
const tk = require('tokenizers');
const version = require('tokenizers/package.json').version;

async function main() {
  const req = JSON.parse(fs.readFileSync(0, 'utf8'));
  let results = null;
  if (req.op === 'normalize') {
    const nfc = tk.nfcNormalizer(), nfd = tk.nfdNormalizer();
    results = req.texts.map((t) => [nfc.normalizeString(t), nfd.normalizeString(t)]);
  } else if (req.op === 'encode') {
    const t0 = process.hrtime.bigint();
    const tok = tk.Tokenizer.fromFile(req.tokenizer);
    const loadS = Number(process.hrtime.bigint() - t0) / 1e9;
    results = [];
    for (const text of req.texts) {
      const ids = (await tok.encode(text, null, {addSpecialTokens: true})).getIds();
      const r = {ids, ids_no_special: (await tok.encode(text, null, {addSpecialTokens: false})).getIds()};
      if (req.decode) {
        r.decoded = await tok.decode(ids, false);
        r.decoded_skip = await tok.decode(ids, true);
      }
      results.push(r);
    }
    results = {load_s: loadS, cases: results};
  } else if (req.op === 'decode') {
    const tok = tk.Tokenizer.fromFile(req.tokenizer);
    results = [];
    for (const ids of req.ids) results.push(await tok.decode(ids, false));
  } else if (req.op === 'bench') {
    const loadS = [];
    let tok = null;
    for (let r = 0; r < req.runs; ++r) {
      const t0 = process.hrtime.bigint();
      tok = tk.Tokenizer.fromFile(req.tokenizer);
      loadS.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    let text = fs.readFileSync(req.text_file, 'utf8');
    if (req.strip_spaces) text = text.replace(/ /g, '');
    const count = (await tok.encode(text, null, {addSpecialTokens: true})).getIds().length;  // warm-up
    const encodeS = [];
    for (let r = 0; r < req.runs; ++r) {
      const t0 = process.hrtime.bigint();
      await tok.encode(text, null, {addSpecialTokens: true});
      encodeS.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    results = {load_s: loadS, encode_s: encodeS, count, bytes: Buffer.byteLength(text, 'utf8')};
  } else if (req.op !== 'version') {
    throw new Error('unknown op ' + req.op);
  }
  process.stdout.write(JSON.stringify({version, results}));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
