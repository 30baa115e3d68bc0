#include "core/tokenizer/bpe_model.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <cstdio>
#include <memory>

#include "core/tokenizer/json_node.h"
#include "core/tokenizer/model_tables_scan.h"
#include "core/tokenizer/pre_tokenizer.h"
#include "core/text/utf8.h"
#include "core/tokenizer/word_cache.h"

namespace gptq::tokenizer {

namespace {

// Ids above this are refused: the id-indexed tables would be absurdly large.
constexpr int64_t kMaxTokenId = (int64_t{1} << 21) - 1;  // 2M: far above real vocabularies

std::atomic<uint64_t> g_next_instance{1};

// A candidate merge: (rank, position) packed so that one integer comparison orders
// them as HF's queue does (lowest rank first, then leftmost), and the merged token.
struct HeapEntry {
  uint64_t key;  // rank << 32 | position
  int32_t merged_id;
  int32_t pos() const { return int32_t(key & 0xffffffffu); }
};
HeapEntry heap_entry(int32_t rank, int32_t pos, int32_t merged_id) {
  return {(uint64_t(uint32_t(rank)) << 32) | uint32_t(pos), merged_id};
}
// std heap functions keep the "largest" on top; make that the lowest key. A functor
// (not a function pointer) so that the comparison is inlined.
struct HeapLess {
  bool operator()(const HeapEntry &a, const HeapEntry &b) const { return a.key > b.key; }
};

// What one thread keeps for one model: its word cache and reusable buffers.
struct ThreadState {
  uint64_t owner = 0;
  WordCache cache;
  std::vector<int32_t> ids;
};

// A few recently used models per thread; a thread that alternates between more models
// than this only loses cache hits.
constexpr std::size_t kStatesPerThread = 4;

ThreadState &thread_state(uint64_t owner) {
  thread_local std::vector<std::unique_ptr<ThreadState>> states;
  for (std::size_t i = 0; i < states.size(); ++i) {
    if (states[i]->owner == owner) {
      if (i != 0) std::rotate(states.begin(), states.begin() + i, states.begin() + i + 1);
      return *states[0];
    }
  }
  if (states.size() >= kStatesPerThread) states.pop_back();
  auto s = std::make_unique<ThreadState>();
  s->owner = owner;
  states.insert(states.begin(), std::move(s));
  return *states[0];
}

void append_byte_level(std::string_view word, std::string &out) {
  for (unsigned char b : word) utf8::append_code_point(byte_to_unicode(b), out);
}

}  // namespace

BpeModel::BpeModel(const JsonNode &model, const ScannedModelTables &tables)
    : instance_(g_next_instance.fetch_add(1)) {
  if (auto d = model.get("dropout"); d && d->number() != 0.0)
    d->fail(Status::Unsupported, "BPE dropout is not supported (results would be random)");
  for (const char *key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (auto v = model.get(key); v && !v->str().empty())
      v->fail(Status::Unsupported, std::string(key) + " is not supported");
  }
  fuse_unk_ = model.bool_or("fuse_unk", false);
  byte_fallback_ = model.bool_or("byte_fallback", false);
  ignore_merges_ = model.bool_or("ignore_merges", false);

  // scan_model_tables reads vocab and merges when they are an object and an array;
  // otherwise the DOM holds them, and reading them as such reports the wrong type.
  if (!tables.has_vocab) model.at("vocab").expect_object();
  if (!tables.has_merges) model.at("merges").expect_array();
  if (!tables.has_vocab || !tables.has_merges)
    fail(Status::Internal, model.file() + ": $.model: vocabulary or merges not read");

  const std::string vocab_path = model.path() + ".vocab";
  index_.reserve(tables.vocab.size(), tables.arena.size());
  for (const auto &entry : tables.vocab) {
    const std::string_view key = tables.str(entry.key);
    const int64_t id = entry.id;
    if (id < 0 || id > kMaxTokenId)
      fail(Status::Format, model.file() + ": " + vocab_path + "[\"" + std::string(key) + "\"]: token id " +
                               std::to_string(id) + " is out of range");
    index_.insert_or_assign(key, int32_t(id));
    if (std::size_t(id) >= tokens_.size()) {
      tokens_.resize(std::size_t(id) + 1);
      present_.resize(std::size_t(id) + 1, false);
    }
    tokens_[std::size_t(id)].assign(key);
    present_[std::size_t(id)] = true;
  }

  merges_.reserve(tables.merges.size());
  merged_by_rank_.reserve(tables.merges.size());
  pair_by_rank_.reserve(tables.merges.size());
  std::vector<std::pair<int32_t, int32_t>> pair_of_merged(tokens_.size(), {-1, -1});
  std::string joined;
  int32_t rank = 0;
  for (std::size_t i = 0; i < tables.merges.size(); ++i) {
    const auto &m = tables.merges[i];
    auto fail_merge = [&](const std::string &what) {
      fail(Status::Format, model.file() + ": " + model.path() + ".merges[" + std::to_string(i) + "]: " + what);
    };
    std::string_view a, b;
    if (!m.pair) {
      std::string_view line = tables.str(m.a);
      if (line.starts_with("#version")) continue;  // header line of merges.txt files
      std::size_t sp = line.find(' ');
      if (sp == std::string_view::npos || line.find(' ', sp + 1) != std::string_view::npos)
        fail_merge("a merge must be two tokens separated by one space");
      a = line.substr(0, sp);
      b = line.substr(sp + 1);
    } else {
      a = tables.str(m.a);
      b = tables.str(m.b);
    }
    const auto ia = index_.find(a), ib = index_.find(b);
    if (!ia) fail_merge("merge refers to token \"" + std::string(a) + "\" that is not in the vocabulary");
    if (!ib) fail_merge("merge refers to token \"" + std::string(b) + "\" that is not in the vocabulary");
    joined.assign(a);
    joined.append(b);
    const auto ij = index_.find(joined);
    if (!ij) fail_merge("merged token \"" + joined + "\" is not in the vocabulary");
    merges_.insert_or_assign(*ia, *ib, Merge{rank++, *ij});
    merged_by_rank_.push_back(*ij);
    pair_by_rank_.push_back({*ia, *ib});
    // Is *ij the result of another pair too? (HF's stale-entry check then matters.)
    auto &first = pair_of_merged[std::size_t(*ij)];
    if (first.first < 0) {
      first = {*ia, *ib};
    } else if (first != std::pair<int32_t, int32_t>{*ia, *ib}) {
      merged_ids_unique_ = false;
    }
  }

  if (auto unk = model.get("unk_token")) {
    // HF accepts an unk_token missing from the vocabulary and fails only when an
    // unknown character shows up; we then drop the character instead of failing.
    unk_id_ = index_.find(unk->str_view());
  }

  ascii_ids_.fill(-1);
  byte_level_ids_.fill(-1);
  fallback_ids_.fill(-1);
  index_.for_each([&](std::string_view tok, int32_t id) {
    std::size_t len = 0;
    if (tok.empty() || tok.size() > 4 || !utf8::is_valid(tok)) return;
    uint32_t cp = utf8::decode_at(tok, 0, &len);
    if (len != tok.size()) return;
    if (cp < 128) {
      ascii_ids_[cp] = id;
    } else {
      char_ids_[cp] = id;
    }
  });
  std::string s;
  for (int b = 0; b < 256; ++b) {
    s.clear();
    utf8::append_code_point(byte_to_unicode(uint8_t(b)), s);
    if (auto id = index_.find(s)) byte_level_ids_[b] = *id;
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    if (auto id = index_.find(std::string_view(buf))) fallback_ids_[b] = *id;
  }
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const { return index_.find(token); }

const std::string *BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || std::size_t(id) >= tokens_.size() || !present_[std::size_t(id)]) return nullptr;
  return &tokens_[std::size_t(id)];
}

bool BpeModel::can_split_before(std::string_view c) const {
  if (ignore_merges_ || c.empty() || !index_.contains(c)) return false;
  bool ok = true;
  index_.for_each([&](std::string_view t, int32_t) {
    for (std::size_t k = t.find(c, 1); ok && k != std::string_view::npos; k = t.find(c, k + 1)) {
      if (k < c.size() || t.compare(k - c.size(), c.size(), c) != 0) ok = false;
    }
  });
  return ok;
}

void BpeModel::encode_word(std::string_view word, bool byte_level, std::vector<int32_t> &out) const {
  if (word.empty()) return;
  ThreadState &ts = thread_state(instance_);
  const uint64_t h = WordCache::hash(word);
  std::span<const int32_t> hit;
  if (ts.cache.find(word, h, &hit)) {
    out.insert(out.end(), hit.begin(), hit.end());
    return;
  }
  ts.ids.clear();
  encode_uncached(word, byte_level, ts.ids);
  ts.cache.insert(word, h, ts.ids);
  out.insert(out.end(), ts.ids.begin(), ts.ids.end());
}

void BpeModel::add_char(std::string_view ch, int32_t id, std::vector<Symbol> &syms,
                        std::optional<int32_t> &pending_unk) const {
  auto push = [&](int32_t tok) {
    int32_t n = int32_t(syms.size());
    syms.push_back(Symbol{tok, n - 1, n + 1, true});
  };
  if (id >= 0) {
    if (pending_unk) push(*pending_unk);
    pending_unk.reset();
    push(id);
    return;
  }
  if (byte_fallback_) {
    bool all = true;
    for (unsigned char b : ch) all = all && fallback_ids_[b] >= 0;
    if (all) {
      // As HF: a pending unk is not flushed here, only before the next known char.
      for (unsigned char b : ch) push(fallback_ids_[b]);
      return;
    }
  }
  if (!unk_id_) return;  // no unk token: the character is dropped, as in HF
  if (pending_unk && !fuse_unk_) push(*pending_unk);
  pending_unk = unk_id_;
}

void BpeModel::encode_uncached(std::string_view word, bool byte_level, std::vector<int32_t> &out) const {
  thread_local std::string mapped;
  thread_local std::vector<Symbol> syms;
  if (ignore_merges_) {
    std::string_view whole = word;
    if (byte_level) {
      mapped.clear();
      append_byte_level(word, mapped);
      whole = mapped;
    }
    if (auto id = index_.find(whole)) {
      out.push_back(*id);
      return;
    }
  }
  syms.clear();
  std::optional<int32_t> pending_unk;
  if (byte_level) {
    for (unsigned char b : word) {
      int32_t id = byte_level_ids_[b];
      if (id >= 0) {
        add_char({}, id, syms, pending_unk);
      } else {
        mapped.clear();
        utf8::append_code_point(byte_to_unicode(b), mapped);
        add_char(mapped, -1, syms, pending_unk);
      }
    }
  } else {
    for (std::size_t i = 0; i < word.size();) {
      std::size_t len;
      uint32_t cp = utf8::decode_at(word, i, &len);
      int32_t id = -1;
      if (cp < 128) {
        id = ascii_ids_[cp];
      } else if (auto it = char_ids_.find(cp); it != char_ids_.end()) {
        id = it->second;
      }
      add_char(word.substr(i, len), id, syms, pending_unk);
      i += len;
    }
  }
  if (pending_unk) {
    int32_t n = int32_t(syms.size());
    syms.push_back(Symbol{*pending_unk, n - 1, n + 1, true});
  }
  if (syms.empty()) return;
  syms.back().next = -1;
  merge_all(syms);
  for (const auto &s : syms)
    if (s.alive) out.push_back(s.id);
}

namespace {

// Words longer than this use RankBuckets: a long word's queue outgrows the caches, and
// one heap over (rank, position) then costs a cache miss per level.
constexpr std::size_t kLongWordSymbols = 4096;

// The candidate merges of one word, popped lowest (rank, position) first, as HF's
// BinaryHeap of Merge pops them. One binary heap: right for short words.
class HeapQueue {
 public:
  void clear() { heap_.clear(); }
  void add(int32_t rank, int32_t pos, int32_t merged) { heap_.push_back(heap_entry(rank, pos, merged)); }
  void build() { std::make_heap(heap_.begin(), heap_.end(), HeapLess{}); }
  void push(int32_t rank, int32_t pos, int32_t merged) {
    heap_.push_back(heap_entry(rank, pos, merged));
    std::push_heap(heap_.begin(), heap_.end(), HeapLess{});
  }
  bool pop(int32_t *rank, int32_t *pos, int32_t *merged) {
    if (heap_.empty()) return false;
    std::pop_heap(heap_.begin(), heap_.end(), HeapLess{});
    *rank = int32_t(heap_.back().key >> 32);
    *pos = heap_.back().pos();
    *merged = heap_.back().merged_id;
    heap_.pop_back();
    return true;
  }

 private:
  std::vector<HeapEntry> heap_;
};

// The same order for long words: a small heap of the ranks present, and per rank a
// min-heap of positions (a rank is one pair, so it has one merged id). Pops touch two
// small heaps instead of one as large as the word.
class RankBuckets {
 public:
  void reset(const std::vector<int32_t> &merged_by_rank) {
    merged_ = &merged_by_rank;
    if (buckets_.size() < merged_by_rank.size()) buckets_.resize(merged_by_rank.size());
    ranks_.clear();
  }
  void add(int32_t rank, int32_t pos, int32_t) { push(rank, pos, 0); }
  void build() {}
  void push(int32_t rank, int32_t pos, int32_t) {
    auto &b = buckets_[std::size_t(rank)];
    if (b.empty()) {
      ranks_.push_back(rank);
      std::push_heap(ranks_.begin(), ranks_.end(), std::greater<>{});
    }
    b.push_back(pos);
    std::push_heap(b.begin(), b.end(), std::greater<>{});
  }
  bool pop(int32_t *rank_out, int32_t *pos, int32_t *merged) {
    if (ranks_.empty()) return false;
    const int32_t rank = ranks_.front();
    *rank_out = rank;
    auto &b = buckets_[std::size_t(rank)];
    std::pop_heap(b.begin(), b.end(), std::greater<>{});
    *pos = b.back();
    b.pop_back();
    *merged = (*merged_)[std::size_t(rank)];
    if (b.empty()) {
      std::pop_heap(ranks_.begin(), ranks_.end(), std::greater<>{});
      ranks_.pop_back();
    }
    return true;
  }

 private:
  const std::vector<int32_t> *merged_ = nullptr;
  std::vector<std::vector<int32_t>> buckets_;  // by rank; all empty between words
  std::vector<int32_t> ranks_;
};

}  // namespace

void BpeModel::merge_all(std::vector<Symbol> &syms) const {
  if (syms.size() < kLongWordSymbols) {
    thread_local HeapQueue heap;
    heap.clear();
    merge_with(syms, heap);
  } else {
    thread_local RankBuckets buckets;
    buckets.reset(merged_by_rank_);
    merge_with(syms, buckets);
  }
}

// HF's Word::merge_all: candidate merges popped by (rank, position); stale entries (the
// pair at that position changed) are skipped.
template <class Queue>
void BpeModel::merge_with(std::vector<Symbol> &syms, Queue &queue) const {
  const int32_t n = int32_t(syms.size());
  for (int32_t i = 0; i + 1 < n; ++i) {
    if (const Merge *m = merges_.find(syms[i].id, syms[i + 1].id)) queue.add(m->rank, i, m->merged_id);
  }
  queue.build();
  int32_t rank, pos, merged;
  while (queue.pop(&rank, &pos, &merged)) {
    Symbol &cur = syms[pos];
    if (!cur.alive || cur.next < 0) continue;
    const int32_t next_pos = cur.next;
    // Stale entries are skipped as HF skips them: unless the pair now at this place
    // merges into the same token (HF compares only the merged id). The pair the entry
    // was made for is still there, or, when no token is the result of two pairs, the
    // entry is stale; only otherwise is the merge table asked.
    const auto &[left, right] = pair_by_rank_[std::size_t(rank)];
    if (cur.id != left || syms[next_pos].id != right) {
      if (merged_ids_unique_) continue;
      const Merge *m = merges_.find(cur.id, syms[next_pos].id);
      if (!m || m->merged_id != merged) continue;
    }
    cur.id = merged;
    syms[next_pos].alive = false;
    cur.next = syms[next_pos].next;
    if (cur.next >= 0) syms[cur.next].prev = pos;
    if (cur.prev >= 0) {
      if (const Merge *pm = merges_.find(syms[cur.prev].id, cur.id)) queue.push(pm->rank, cur.prev, pm->merged_id);
    }
    if (cur.next >= 0) {
      if (const Merge *nm = merges_.find(cur.id, syms[cur.next].id)) queue.push(nm->rank, pos, nm->merged_id);
    }
  }
}

}  // namespace gptq::tokenizer
