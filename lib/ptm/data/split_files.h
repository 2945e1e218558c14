// Where the splits of a file-based data set come from: `train`, an optional `val` file or a
// seeded held-out share of train (`val_fraction`, `val_seed`) for model selection and early
// stopping, and an optional `test` file that the trainer evaluates once, after training.
// Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ptm/config/binder.h"

namespace ptm::data {

struct SplitFiles {
  std::string train, val, test;
  double val_fraction = 0;  // > 0: "val" is this share of train, held out of "train"
  int64_t val_seed = 0;     // which examples are held out (independent of run.seed)
};

// A problem on `key` when `path` is given and does not exist (pointing at get-data.sh for data/).
void check_path_exists(config::Section& s, const char* key, const std::string& path);

// Reads train (required), val, test, val_fraction and val_seed; refuses val together with
// val_fraction and files that do not exist. `format` describes the files for the help text.
void bind_split_files(config::Section& s, SplitFiles& f, const std::string& format);

// The file that holds `split`'s examples ("" for "test" when there is none). IoError for an
// unknown split or a "val" split with neither a file nor a held-out share.
std::string split_file(const SplitFiles& f, const std::string& split, const std::string& data_type);

// Indices (ascending, in file order) of the n examples of `split_file(f, split)` that `split`
// keeps: with a held-out share, "train" keeps the rest and "val" the share; otherwise all.
std::vector<int64_t> split_examples(const SplitFiles& f, const std::string& split, int64_t n);

// The held-out share itself: round(n * fraction) examples drawn by a permutation seeded with
// `seed` alone go to "val", the others to "train" (each in ascending order). IoError naming
// `what` when either side would be empty.
std::vector<int64_t> holdout_split(int64_t n, double fraction, int64_t seed, const std::string& split,
                                   const std::string& what);

}  // namespace ptm::data
