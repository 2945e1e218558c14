// Loader throughput: token windows from a prepared folder through the prefetching Loader,
// as the trainer consumes them. Prints tokens/s; compare with what the model eats
// (GPT-2 124M on an H200: ~0.4 M tokens/s) — the loader must never be the bottleneck.
//   ptm_data_bench <prepared dir> [seq_len=1024] [batch=16] [seconds=5]
#include <chrono>
#include <cstdio>
#include <string>

#include "ptm/data/loader.h"
#include "ptm/data/token_windows.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <prepared dir> [seq_len] [batch] [seconds]\n", argv[0]);
    return 2;
  }
  ptm::data::TokenWindowsOptions o;
  o.path = argv[1];
  o.seq_len = argc > 2 ? std::stoll(argv[2]) : 1024;
  ptm::data::StreamOptions s;
  s.batch_size = argc > 3 ? std::stoll(argv[3]) : 16;
  const double seconds = argc > 4 ? std::stod(argv[4]) : 5.0;
  ptm::data::Loader loader(ptm::data::make_token_windows(o, s), torch::kCPU, 4);
  for (int i = 0; i < 10; ++i) loader.next();  // warm-up
  int64_t tokens = 0, batches = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    const auto b = loader.next();
    tokens += b->input_ids.numel();
    ++batches;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  std::printf("loader: %lld batches of %lldx%lld in %.2f s = %.2f M tokens/s\n", static_cast<long long>(batches),
              static_cast<long long>(s.batch_size), static_cast<long long>(o.seq_len), elapsed, tokens / elapsed / 1e6);
  return 0;
}
