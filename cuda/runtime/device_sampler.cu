#include "cuda/runtime/device_sampler.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <string>

#include "cuda/cuda_check.h"
#include "cuda/kernels/chained_launch.h"
#include "cuda/plugin_error.h"

// One block per row; the row's processed logits and softmax terms live in
// global scratch (a vocabulary of 128256 does not fit in shared memory), read
// again by each pass. The passes, as sampler.cpp's steps:
//  1. penalty (on the distinct seen ids), temperature, NaN check, argmax;
//  2. top-k: the k-th largest logit by a radix select over the floats'
//     ordered bits (4 passes of 8 bits), exact;
//  3. the softmax terms exp(l - max) of the logits kept, and their sum;
//  4. top-p: the candidates, the terms at or above a threshold found by
//     bisection (their probability mass at least top_p), gathered into
//     shared memory, sorted by (p descending, id ascending) — the host's
//     order — and scanned: a token is kept while the mass ranked above it is
//     below top_p (the host's "ascending cumulative mass <= 1 - top_p" from
//     the other end); the kept ones sorted by id, their terms taken again
//     from their own max (as the host does when the max itself was cut) and
//     drawn in id order;
//  5. without top-p, the draw over the whole row in id order: each thread
//     walks a contiguous chunk from the block's prefix sum of the chunks.
// Block sums are fixed trees (shuffles, then one warp), so a row's result is
// the same from launch to launch.

namespace gptq::cuda {
namespace {

constexpr int kThreads = 1024;
constexpr int kWarps = kThreads / 32;
constexpr unsigned kFull = 0xffffffffu;
// The top-p bisection stops once the candidates are this few: sorting them
// costs less than more passes over the row.
constexpr int kSortTarget = 512;
// At most this many passes of the top-p bisection (its resolution then is
// 64 / 2^18 in the logit).
constexpr int kBisections = 20;

// The float's bits mapped so that unsigned order is float order (-0 just
// below +0), as sampler.cpp's ordered_bits.
__device__ __forceinline__ unsigned ordered_bits(float f) {
  const unsigned u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ float from_ordered_bits(unsigned o) {
  return __uint_as_float((o & 0x80000000u) ? (o & 0x7fffffffu) : ~o);
}

// Shared scratch of the block reductions.
struct Reduce {
  double d[kWarps];
  float f[kWarps];
  int i[kWarps];
  double d_out;
  float f_out;
  int i_out;
  int count;  // candidates gathered; then the kept count
};

__device__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  return v;
}

__device__ double block_sum(double v, Reduce &s) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  v = warp_sum(v);
  if (lane == 0) s.d[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const double total = warp_sum(s.d[lane]);
    if (lane == 0) s.d_out = total;
  }
  __syncthreads();
  const double r = s.d_out;
  __syncthreads();  // s is reused by the next reduction
  return r;
}

template <class Op>
__device__ int block_int(int v, Reduce &s, Op op) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(kFull, v, o));
  if (lane == 0) s.i[warp] = v;
  __syncthreads();
  if (warp == 0) {
    int t = s.i[lane];
    for (int o = 16; o > 0; o >>= 1) t = op(t, __shfl_xor_sync(kFull, t, o));
    if (lane == 0) s.i_out = t;
  }
  __syncthreads();
  const int r = s.i_out;
  __syncthreads();
  return r;
}

// The sums of c and m over the block, in one round.
__device__ void block_count_mass(int &c, double &m, Reduce &s) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int o = 16; o > 0; o >>= 1) {
    c += __shfl_xor_sync(kFull, c, o);
    m += __shfl_xor_sync(kFull, m, o);
  }
  if (lane == 0) {
    s.i[warp] = c;
    s.d[warp] = m;
  }
  __syncthreads();
  if (warp == 0) {
    int tc = s.i[lane];
    double tm = s.d[lane];
    for (int o = 16; o > 0; o >>= 1) {
      tc += __shfl_xor_sync(kFull, tc, o);
      tm += __shfl_xor_sync(kFull, tm, o);
    }
    if (lane == 0) {
      s.i_out = tc;
      s.d_out = tm;
    }
  }
  __syncthreads();
  c = s.i_out;
  m = s.d_out;
  __syncthreads();
}

struct Add {
  __device__ int operator()(int a, int b) const { return a + b; }
};
struct Min {
  __device__ int operator()(int a, int b) const { return a < b ? a : b; }
};
struct Max {
  __device__ int operator()(int a, int b) const { return a > b ? a : b; }
};

// The largest value and, among equal ones, the lowest index (the first, as
// std::max_element; -0 and +0 are equal); no NaN.
__device__ void block_argmax(float &value, int &index, Reduce &s) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  auto merge = [](float &v, int &i, float ov, int oi) {
    if (ov > v || (ov == v && oi < i)) {
      v = ov;
      i = oi;
    }
  };
  for (int o = 16; o > 0; o >>= 1) merge(value, index, __shfl_xor_sync(kFull, value, o), __shfl_xor_sync(kFull, index, o));
  if (lane == 0) {
    s.f[warp] = value;
    s.i[warp] = index;
  }
  __syncthreads();
  if (warp == 0) {
    float v = s.f[lane];
    int i = s.i[lane];
    for (int o = 16; o > 0; o >>= 1) merge(v, i, __shfl_xor_sync(kFull, v, o), __shfl_xor_sync(kFull, i, o));
    if (lane == 0) {
      s.f_out = v;
      s.i_out = i;
    }
  }
  __syncthreads();
  value = s.f_out;
  index = s.i_out;
  __syncthreads();
}

// The sum of v over the threads before this one.
__device__ double block_exclusive_scan(double v, Reduce &s) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  double incl = v;
  for (int o = 1; o < 32; o <<= 1) {
    const double t = __shfl_up_sync(kFull, incl, o);
    if (lane >= o) incl += t;
  }
  double excl = __shfl_up_sync(kFull, incl, 1);
  if (lane == 0) excl = 0;
  if (lane == 31) s.d[warp] = incl;
  __syncthreads();
  if (warp == 0) {
    double w = s.d[lane];
    for (int o = 1; o < 32; o <<= 1) {
      const double t = __shfl_up_sync(kFull, w, o);
      if (lane >= o) w += t;
    }
    double before = __shfl_up_sync(kFull, w, 1);
    if (lane == 0) before = 0;
    __syncwarp();
    s.d[lane] = before;
  }
  __syncthreads();
  const double r = s.d[warp] + excl;
  __syncthreads();
  return r;
}

// The host's nucleus order: p descending, ties by ascending id (padding:
// p -1, id INT_MAX, last).
struct ByProbability {
  __device__ bool operator()(double pa, int ia, double pb, int ib) const {
    return pa > pb || (pa == pb && ia < ib);
  }
};
struct ById {
  __device__ bool operator()(double, int ia, double, int ib) const { return ia < ib; }
};

// Bitonic sort of the first `size` (a power of 2) pairs in shared memory.
template <class Before>
__device__ void bitonic_sort(double *p, int *id, int size, Before before) {
  for (int k = 2; k <= size; k <<= 1)
    for (int j = k >> 1; j > 0; j >>= 1) {
      for (int i = threadIdx.x; i < size; i += kThreads) {
        const int x = i ^ j;
        if (x <= i) continue;
        const bool up = (i & k) == 0;
        const bool swap = up ? before(p[x], id[x], p[i], id[i]) : before(p[i], id[i], p[x], id[x]);
        if (swap) {
          const double tp = p[i];
          p[i] = p[x];
          p[x] = tp;
          const int ti = id[i];
          id[i] = id[x];
          id[x] = ti;
        }
      }
      __syncthreads();
    }
}

// The k-th largest of l[0, n) (1 <= k <= n), as nth_element would give it:
// a radix select over the ordered bits, 8 a pass from the top (4 passes);
// each pass counts, among the logits whose higher digits are those found so
// far, how many have each value of the next digit, and picks the digit in
// which the k-th (from the top) falls. `hist` is 256 ints of shared memory.
__device__ float kth_largest(const float *l, int n, int k, int *hist, Reduce &s) {
  const int lane = threadIdx.x % 32;
  unsigned prefix = 0, mask = 0;
  int left = k;  // rank wanted among the logits that match the prefix
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int d = threadIdx.x; d < 256; d += kThreads) hist[d] = 0;
    __syncthreads();
    for (int base = 0; base < n; base += kThreads) {
      const int i = base + static_cast<int>(threadIdx.x);
      unsigned digit = 256;  // none
      if (i < n) {
        const unsigned bits = ordered_bits(l[i]);
        if ((bits & mask) == prefix) digit = (bits >> shift) & 255u;
      }
      // One atomic per distinct digit of the warp: a row's logits crowd a
      // few digits.
      const unsigned same = __match_any_sync(kFull, digit);
      if (digit < 256 && lane == __ffs(static_cast<int>(same)) - 1) atomicAdd(&hist[digit], __popc(same));
    }
    __syncthreads();
    if (threadIdx.x < 32) {
      // Lane j holds digits 255 - 8j down to 248 - 8j (the top first).
      int mine = 0;
      for (int d = 0; d < 8; ++d) mine += hist[255 - 8 * lane - d];
      int incl = mine;
      for (int o = 1; o < 32; o <<= 1) {
        const int t = __shfl_up_sync(kFull, incl, o);
        if (lane >= o) incl += t;
      }
      const unsigned reach = __ballot_sync(kFull, incl >= left);
      const int at = __ffs(static_cast<int>(reach)) - 1;  // some lane reaches: left <= the matching count
      if (lane == at) {
        int above = incl - mine, digit = 255 - 8 * lane;
        while (above + hist[digit] < left) above += hist[digit--];
        s.i_out = digit;
        s.count = left - above;
      }
    }
    __syncthreads();
    prefix |= static_cast<unsigned>(s.i_out) << shift;
    mask |= 255u << shift;
    left = s.count;
    __syncthreads();
  }
  return from_ordered_bits(prefix);
}

__device__ int power_of_two_at_least(int n) {
  int size = 1;
  while (size < n) size <<= 1;
  return size;
}

__global__ void __launch_bounds__(kThreads) sample_kernel(SampleArgs a) {
  extern __shared__ double candidates[];  // [kSampleCandidates] p, then [kSampleCandidates] int ids
  double *cp = candidates;
  int *cid = reinterpret_cast<int *>(candidates + kSampleCandidates);
  __shared__ Reduce s;
  // Reads the head's logits and writes scratch an earlier launch read.
  wait_for_previous_kernel();
  const int tid = threadIdx.x;
  const std::int64_t row = blockIdx.x;
  const int n = static_cast<int>(a.vocab);
  auto finish = [&](int token) {
    if (tid == 0) a.tokens[row] = token;
  };
  if (!a.active[row]) {
    finish(GPTQ_PLUGIN_TOKEN_NOT_WANTED);
    return;
  }
  const SampleOptions o = a.options;
  const float *in = a.logits + row * a.vocab;
  float *l = a.scratch + row * a.vocab;
  double *w = a.weights + row * a.vocab;

  // 1. The penalty on each distinct seen id (computed in double and rounded,
  // as the host), then temperature, the argmax and the NaN check.
  const float *src = in;
  if (o.repetition_penalty != 1.0 && a.seen_offsets) {
    for (int i = tid; i < n; i += kThreads) l[i] = in[i];
    __syncthreads();
    for (std::int64_t j = a.seen_offsets[row] + tid; j < a.seen_offsets[row + 1]; j += kThreads) {
      const int id = a.seen_ids[j];
      const float x = l[id];
      l[id] = static_cast<float>(x < 0 ? static_cast<double>(x) * o.repetition_penalty
                                       : static_cast<double>(x) / o.repetition_penalty);
    }
    __syncthreads();
    src = l;
  }
  const bool greedy = o.temperature <= 0.0;
  const bool scale = !greedy && o.temperature != 1.0;  // x / 1.0 == x
  float best = -INFINITY;
  int best_i = INT_MAX, nan = 0;
  for (int i = tid; i < n; i += kThreads) {
    float x = src[i];
    if (scale) x = static_cast<float>(static_cast<double>(x) / o.temperature);
    l[i] = x;
    if (x != x) {
      nan = 1;
    } else if (x > best || (x == best && i < best_i)) {
      best = x;
      best_i = i;
    }
  }
  // A NaN: the host's argmax and sort results rest on its comparisons' order.
  if (__syncthreads_or(nan)) {
    finish(GPTQ_PLUGIN_TOKEN_ON_HOST);
    return;
  }
  block_argmax(best, best_i, s);
  if (greedy) {
    finish(best_i);
    return;
  }
  const float max = best;  // top-k never removes it

  // 2. Top-k: kth the k-th largest logit; kept: !(l < kth) and not -inf.
  float kth = -INFINITY;
  if (o.top_k > 0 && o.top_k < n) kth = kth_largest(l, n, static_cast<int>(o.top_k), cid, s);

  // 3. The softmax terms (the host's float subtraction, then exp in double).
  double local = 0;
  for (int i = tid; i < n; i += kThreads) {
    const float x = l[i];
    const double t = !(x < kth) && x != -INFINITY ? exp(static_cast<double>(x - max)) : 0.0;
    w[i] = t;
    local += t;
  }
  const double sum = block_sum(local, s);
  if (!(sum > 0)) {  // every logit removed, or an +inf among them: the host's last id
    finish(n - 1);
    return;
  }
  const double u = a.uniforms[row];

  if (!(o.top_p >= 1.0)) {
    // 4. Top-p. Terms whose p rounds to 0 leave first (the host's too; only
    // a term below 1e-290 can round so, the sum being at most 2^31).
    int positive = 0;
    for (int i = tid; i < n; i += kThreads) {
      if (w[i] != 0 && w[i] < 1e-290 && w[i] / sum == 0) w[i] = 0;
      positive += w[i] != 0;
    }
    positive = block_int(positive, s, Add{});
    // The candidates: the terms at or above a threshold t whose mass is at
    // least top_p (the nucleus is a prefix of the host's order, and p grows
    // with the term). t = exp(-x), x by bisection: t = 1 (the max's ties)
    // first, which a peaked row's nucleus often is; else x in (0, 64], 64
    // leaving out at most 2^31 e^-64 < 1e-18 of the mass (less than any
    // top_p < 1 leaves); the bisection stops once the candidates are few
    // enough to sort quickly, or after kBisections.
    double threshold = 0;  // 0: every positive term
    int count = positive;
    if (count > kSortTarget) {
      double lo = 0, hi = 0;  // x: invalid at lo, valid at hi (0: none yet)
      for (int step = 0; step < kBisections; ++step) {
        const double x = step == 0 ? 0.0 : step == 1 ? 64.0 : hi == 0 ? 0.0 : 0.5 * (lo + hi);
        if (step >= 2 && hi == 0) break;  // not even 64 is valid: every positive term
        const double t = exp(-x);
        int c = 0;
        double m = 0;
        for (int i = tid; i < n; i += kThreads)
          if (w[i] != 0 && w[i] >= t) {
            ++c;
            m += w[i];
          }
        block_count_mass(c, m, s);
        if (c > 0 && m / sum >= o.top_p) {
          hi = x;
          threshold = t;
          count = c;
          if (c <= kSortTarget || x == 0.0) break;
        } else {
          lo = x;
        }
      }
    }
    // Too many to sort in shared memory: the host chooses.
    if (count > kSampleCandidates) {
      finish(GPTQ_PLUGIN_TOKEN_ON_HOST);
      return;
    }
    if (tid == 0) s.count = 0;
    __syncthreads();
    for (int i = tid; i < n; i += kThreads)
      if (w[i] != 0 && w[i] >= threshold) {
        const int slot = atomicAdd(&s.count, 1);
        cp[slot] = w[i] / sum;  // the host's p, bit for bit
        cid[slot] = i;
      }
    __syncthreads();
    const int size = power_of_two_at_least(count);
    for (int r = count + tid; r < size; r += kThreads) {
      cp[r] = -1.0;
      cid[r] = INT_MAX;
    }
    __syncthreads();
    bitonic_sort(cp, cid, size, ByProbability{});
    // Kept: rank 0, and each rank whose mass above it is below top_p.
    if (tid < 32) {
      const int lane = tid;
      double running = 0;
      int kept = count;
      for (int base = 0; base < count; base += 32) {
        const int r = base + lane;
        const double v = r < count ? cp[r] : 0.0;
        double incl = v;
        for (int off = 1; off < 32; off <<= 1) {
          const double t = __shfl_up_sync(kFull, incl, off);
          if (lane >= off) incl += t;
        }
        double above = __shfl_up_sync(kFull, incl, 1);
        if (lane == 0) above = 0;
        const bool cut = r < count && r > 0 && !(running + above < o.top_p);
        const unsigned ballot = __ballot_sync(kFull, cut);
        if (ballot) {
          kept = base + __ffs(static_cast<int>(ballot)) - 1;
          break;
        }
        running += __shfl_sync(kFull, incl, 31);
      }
      // No cut among the candidates, and their mass (as the scan sums it)
      // short of top_p while other terms remain: only rounding (the
      // bisection's sum against the scan's) does that; the host decides.
      if (lane == 0) s.count = kept == count && !(running >= o.top_p) && count < positive ? -1 : kept;
    }
    __syncthreads();
    const int kept = s.count;
    if (kept < 0) {
      finish(GPTQ_PLUGIN_TOKEN_ON_HOST);
      return;
    }
    for (int r = kept + tid; r < size; r += kThreads) {
      cp[r] = -1.0;
      cid[r] = INT_MAX;
    }
    __syncthreads();
    bitonic_sort(cp, cid, power_of_two_at_least(kept), ById{});
    // The kept terms from the kept max (the max itself unless the cut took
    // every logit equal to it: then the host recomputes them so).
    float kmax = -INFINITY;
    int unused = INT_MAX;
    for (int r = tid; r < kept; r += kThreads)
      if (l[cid[r]] > kmax) kmax = l[cid[r]];
    block_argmax(kmax, unused, s);
    for (int r = tid; r < kept; r += kThreads) cp[r] = exp(static_cast<double>(l[cid[r]] - kmax));
    __syncthreads();
    if (tid < 32) {
      const int lane = tid;
      double total = 0;
      for (int base = 0; base < kept; base += 32) total += warp_sum(base + lane < kept ? cp[base + lane] : 0.0);
      double running = 0;
      int token = -1, last = -1;
      for (int base = 0; base < kept; base += 32) {
        const int r = base + lane;
        const double p = r < kept ? cp[r] / total : 0.0;
        double incl = p;
        for (int off = 1; off < 32; off <<= 1) {
          const double t = __shfl_up_sync(kFull, incl, off);
          if (lane >= off) incl += t;
        }
        const unsigned hit = __ballot_sync(kFull, r < kept && p != 0 && u < running + incl);
        if (hit) {
          token = cid[base + __ffs(static_cast<int>(hit)) - 1];
          break;
        }
        const unsigned any = __ballot_sync(kFull, r < kept && p != 0);
        if (any) last = cid[base + 31 - __clz(static_cast<int>(any))];
        running += __shfl_sync(kFull, incl, 31);
      }
      if (lane == 0) a.tokens[row] = token >= 0 ? token : last;  // u within rounding of 1: the last
    }
    return;
  }

  // 5. The draw over the row in id order, p = w / sum, zeros skipped.
  const int chunk = (n + kThreads - 1) / kThreads;
  const int begin = min(n, tid * chunk), end = min(n, begin + chunk);
  double mass = 0;
  for (int i = begin; i < end; ++i) mass += w[i] / sum;
  double cumulative = block_exclusive_scan(mass, s);
  int found = INT_MAX, last = -1;
  for (int i = begin; i < end; ++i) {
    const double p = w[i] / sum;
    if (p == 0.0) continue;
    cumulative += p;
    last = i;
    if (u < cumulative) {
      found = i;
      break;
    }
  }
  found = block_int(found, s, Min{});
  last = block_int(last, s, Max{});
  finish(found != INT_MAX ? found : last);  // u within rounding of 1: the last
}

}  // namespace

void sample_rows(const SampleArgs &a, bool chain, cudaStream_t stream) {
  if (a.batch <= 0) return;
  constexpr std::size_t smem = static_cast<std::size_t>(kSampleCandidates) * (sizeof(double) + sizeof(int));
  // Above the 48 KiB a block gets without asking (with the static scratch).
  GPTQ_CUDA_CHECK(
      cudaFuncSetAttribute(sample_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  launch_chained(chain && chained_launch_enabled(), sample_kernel, dim3(static_cast<unsigned>(a.batch)),
                 dim3(kThreads), smem, stream, a);
}

DeviceSampler::DeviceSampler(std::int64_t batch, std::int64_t vocab) : batch_(batch), vocab_(vocab) {
  if (batch <= 0 || batch > INT_MAX || vocab <= 0 || vocab > INT_MAX)
    throw InvalidArgument("a device sampler needs batch and vocabulary in [1, 2^31), got batch " +
                          std::to_string(batch) + " and vocabulary " + std::to_string(vocab));
  const auto rows = static_cast<std::size_t>(batch) * static_cast<std::size_t>(vocab);
  const std::string of = " of the device sampler (batch " + std::to_string(batch) + " x " + std::to_string(vocab) +
                         " tokens)";
  scratch_ = DeviceArray<float>(rows, "the processed logits" + of);
  weights_ = DeviceArray<double>(rows, "the softmax terms" + of);
  active_ = DeviceArray<std::uint8_t>(static_cast<std::size_t>(batch), "the active flags" + of);
  uniforms_ = DeviceArray<double>(static_cast<std::size_t>(batch), "the uniforms" + of);
  offsets_ = DeviceArray<std::int64_t>(static_cast<std::size_t>(batch) + 1, "the seen offsets" + of);
  tokens_ = DeviceArray<std::int32_t>(static_cast<std::size_t>(batch), "the tokens" + of);
}

void DeviceSampler::upload(const gptq_plugin_sampling &step, cudaStream_t stream) {
  prepare(step, stream);
  const auto b = static_cast<std::size_t>(batch_);
  // Small copies from the core's arrays, staged before the calls return
  // (as the run's ids): the stream is idle between steps.
  GPTQ_CUDA_CHECK(cudaMemcpyAsync(active_.get(), step.active, b, cudaMemcpyHostToDevice, stream));
  GPTQ_CUDA_CHECK(cudaMemcpyAsync(uniforms_.get(), step.uniforms, b * sizeof(double), cudaMemcpyHostToDevice, stream));
}

void DeviceSampler::prepare(const gptq_plugin_sampling &step, cudaStream_t stream) {
  if (step.size < sizeof(gptq_plugin_sampling))
    throw InvalidArgument("a sampling step of " + std::to_string(step.size) + " bytes; this plugin reads " +
                          std::to_string(sizeof(gptq_plugin_sampling)));
  if (!step.active || !step.uniforms) throw InvalidArgument("a sampling step needs active flags and uniforms");
  options_ = {step.temperature, step.top_k, step.top_p, step.repetition_penalty};
  penalty_ = step.repetition_penalty != 1.0;
  const auto b = static_cast<std::size_t>(batch_);
  if (!penalty_) return;
  if (!step.seen_offsets || (!step.seen_ids && step.seen_offsets[batch_] > 0))
    throw InvalidArgument("a repetition penalty needs the sequences' seen tokens");
  if (step.seen_offsets[0] != 0) throw InvalidArgument("seen_offsets must start at 0");
  for (std::size_t i = 0; i < b; ++i)
    if (step.seen_offsets[i + 1] < step.seen_offsets[i])
      throw InvalidArgument("seen_offsets decrease at sequence " + std::to_string(i));
  const auto total = static_cast<std::size_t>(step.seen_offsets[batch_]);
  for (std::size_t i = 0; i < total; ++i)
    if (step.seen_ids[i] < 0 || step.seen_ids[i] >= vocab_)
      throw InvalidArgument("seen id " + std::to_string(step.seen_ids[i]) + " at index " + std::to_string(i) +
                            " is outside the vocabulary");
  GPTQ_CUDA_CHECK(
      cudaMemcpyAsync(offsets_.get(), step.seen_offsets, (b + 1) * sizeof(std::int64_t), cudaMemcpyHostToDevice, stream));
  if (total == 0) return;
  if (seen_.size() < total)  // grows by doubling: a sequence sees a token more a step at most
    seen_ = DeviceArray<std::int32_t>(std::max(total, 2 * seen_.size()), "the seen tokens of the device sampler");
  GPTQ_CUDA_CHECK(
      cudaMemcpyAsync(seen_.get(), step.seen_ids, total * sizeof(std::int32_t), cudaMemcpyHostToDevice, stream));
}

SampleArgs DeviceSampler::args(const float *logits) const {
  SampleArgs a;
  a.logits = logits;
  a.scratch = scratch_.get();
  a.weights = weights_.get();
  a.active = active_.get();
  a.uniforms = uniforms_.get();
  a.seen_ids = penalty_ ? seen_.get() : nullptr;
  a.seen_offsets = penalty_ ? offsets_.get() : nullptr;
  a.tokens = tokens_.get();
  a.batch = batch_;
  a.vocab = vocab_;
  a.options = options_;
  return a;
}

void DeviceSampler::enqueue(const float *logits, bool chain, cudaStream_t stream) {
  sample_rows(args(logits), chain, stream);
}

void DeviceSampler::fetch(const float *logits, std::int32_t *tokens, float *host_logits, cudaStream_t stream) const {
  const auto b = static_cast<std::size_t>(batch_);
  GPTQ_CUDA_CHECK(cudaMemcpyAsync(tokens, tokens_.get(), b * sizeof(std::int32_t), cudaMemcpyDeviceToHost, stream));
  GPTQ_CUDA_CHECK(cudaStreamSynchronize(stream));
  fetch_rows_left_to_host(logits, tokens, host_logits, stream);
}

void DeviceSampler::fetch_rows_left_to_host(const float *logits, const std::int32_t *tokens, float *host_logits,
                                            cudaStream_t stream) const {
  const auto b = static_cast<std::size_t>(batch_);
  const auto row = static_cast<std::size_t>(vocab_);
  bool any = false;
  for (std::size_t r = 0; r < b; ++r)
    if (tokens[r] == GPTQ_PLUGIN_TOKEN_ON_HOST) {
      GPTQ_CUDA_CHECK(cudaMemcpyAsync(host_logits + r * row, logits + r * row, row * sizeof(float),
                                      cudaMemcpyDeviceToHost, stream));
      any = true;
    }
  if (any) GPTQ_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace gptq::cuda
