// Train/val/test files and the seeded held-out validation share.
#include "ptm/data/split_files.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "ptm/core/errors.h"
#include "ptm/core/splitmix.h"

namespace ptm::data {
void check_path_exists(config::Section& s, const char* key, const std::string& path) {
  if (!path.empty() && !std::filesystem::exists(path))
    s.problem(key, "'" + path + "' does not exist" + (path.rfind("data/", 0) == 0 ? " (run scripts/get-data.sh)" : ""));
}

void bind_split_files(config::Section& s, SplitFiles& f, const std::string& format) {
  const auto must_exist = [&](const char* key, const std::string& path) { check_path_exists(s, key, path); };
  if (s.req("train", f.train, "training file (" + format + ")").ok()) must_exist("train", f.train);
  if (s.opt("val", f.val, "validation file: evaluations during training, best checkpoint, early stopping").ok())
    must_exist("val", f.val);
  if (s.opt("test", f.test, "test file, evaluated once after training (on checkpoints/best when kept)").ok())
    must_exist("test", f.test);
  const bool fraction_ok =
      s.opt("val_fraction", f.val_fraction, "share of train held out as the validation split (instead of val)")
          .min(0.0)
          .max(0.5)
          .ok();
  s.opt("val_seed", f.val_seed, "seed of the held-out share (the same for every run.seed)").min(0);
  if (fraction_ok && f.val_fraction > 0 && !f.val.empty())
    s.problem("val_fraction", "give either val (a file) or val_fraction (a held-out share of train), not both");
}

std::string split_file(const SplitFiles& f, const std::string& split, const std::string& data_type) {
  if (split == "train") return f.train;
  if (split == "test") return f.test;
  if (split != "val") throw IoError(data_type + ": unknown split '" + split + "' (train, val or test)");
  if (f.val_fraction > 0) return f.train;
  if (f.val.empty())
    throw IoError(data_type + ": no validation split: set data.val (a file) or data.val_fraction (a share of train)");
  return f.val;
}

std::vector<int64_t> split_examples(const SplitFiles& f, const std::string& split, int64_t n) {
  if (f.val_fraction > 0 && (split == "train" || split == "val"))
    return holdout_split(n, f.val_fraction, f.val_seed, split, "'" + f.train + "'");
  std::vector<int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  return all;
}

std::vector<int64_t> holdout_split(int64_t n, double fraction, int64_t seed, const std::string& split,
                                   const std::string& what) {
  const auto held = static_cast<int64_t>(std::llround(static_cast<double>(n) * fraction));
  if (held < 1 || held >= n)
    throw IoError("val_fraction " + std::to_string(fraction) + " of the " + std::to_string(n) + " examples of " + what +
                  " leaves " + (held < 1 ? "no validation" : "no training") + " examples");
  // Fisher-Yates with counter-based draws: the same (n, seed) always holds out the same examples.
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  const uint64_t key = splitmix64(splitmix64(static_cast<uint64_t>(seed)) ^ 0x76616c5f686f6c64ull);  // "val_hold"
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(splitmix64(key ^ static_cast<uint64_t>(i)) % static_cast<uint64_t>(i + 1));
    std::swap(p[i], p[j]);
  }
  std::vector<int64_t> out = split == "val" ? std::vector<int64_t>(p.begin(), p.begin() + held)
                                            : std::vector<int64_t>(p.begin() + held, p.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ptm::data
