// Helpers for the BERT tests: the data and Python preconditions (failing with what to run),
// the transformers reference script, batches from safetensors files, small models.
#pragma once
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "catch.h"
#include "helpers.h"
#include "ptm/models/bert.h"

namespace ptm::test::bert {

inline std::string data_path(const std::string& rel) {
  const std::string p = data_dir() + "/" + rel;
  if (!std::filesystem::exists(p)) FAIL("missing " << p << ": run scripts/get-data.sh to fetch the test data");
  return p;
}

inline std::string python() {
  const std::string py = python_exe();
  if (py.empty() || !std::filesystem::exists(py))
    FAIL("no reference Python with transformers (PTM_PYTHON='" << py << "'): run scripts/setup.sh, then rebuild");
  return py;
}

// Runs tests/golden/<script> with `args` (already quoted) in the reference Python; fails with
// its output and the package it `needs`.
inline void run_golden(const std::string& script, const std::string& args, const std::string& needs) {
  const std::string py = python();
  TempDir log;
  const std::string cmd = "'" + py + "' '" + std::string(source_dir()) + "/tests/golden/" + script + "' " + args +
                          " >'" + log.file("out.txt") + "' 2>&1";
  if (std::system(cmd.c_str()) != 0)
    FAIL("tests/golden/" << script << " " << args << " failed (needs " << needs << ": run scripts/setup.sh):\n"
                         << read_text(log.file("out.txt")));
}

// tests/golden/bert_reference.py with `args`.
inline void reference(const std::string& args) { run_golden("bert_reference.py", args, "transformers"); }

inline std::string quoted(const std::string& s) { return "'" + s + "'"; }

inline std::map<std::string, torch::Tensor> load_map(const std::string& path) {
  std::map<std::string, torch::Tensor> m;
  for (auto& [name, t] : models::load_safetensors(path)) m[name] = t;
  return m;
}

// input_ids / attention_mask / token_type_ids of a reference file (the first `rows`, or all).
inline data::Batch batch_from(const std::map<std::string, torch::Tensor>& m, int64_t rows = -1) {
  const auto take = [&](const char* key) {
    const auto& t = m.at(key);
    return rows < 0 ? t : t.narrow(0, 0, rows);
  };
  data::Batch b;
  b.input_ids = take("input_ids");
  b.attention_mask = take("attention_mask");
  b.token_type_ids = take("token_type_ids");
  return b;
}

inline double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.numel() == b.numel());
  return (a.reshape({-1}).to(torch::kDouble) - b.reshape({-1}).to(torch::kDouble)).abs().max().item<double>();
}

// A small BERT with non-default sizes (H 64, 4 heads, 2 layers, 3 token types, pad id 1).
inline models::BertOptions tiny_options(const std::string& head = "none", int64_t num_labels = 3) {
  models::BertOptions o;
  o.vocab_size = 300;
  o.hidden_size = 64;
  o.num_hidden_layers = 2;
  o.num_attention_heads = 4;
  o.intermediate_size = 96;
  o.max_position_embeddings = 40;
  o.type_vocab_size = 3;
  o.layer_norm_eps = 1e-7;
  o.pad_token_id = 1;
  o.head.type = head;
  o.head.num_labels = head == "regression" ? 1 : num_labels;
  return o;
}

// Adds N(0, scale) noise to every parameter, so zero biases and unit LayerNorms are not special.
inline void perturb(torch::nn::Module& m, double scale, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& p : m.parameters()) p.add_(at::normal(0.0, scale, p.sizes(), gen));
}

// A padded batch of sentence pairs: row i has lengths[i] real tokens, ids in [2, vocab).
inline data::Batch random_batch(const std::vector<int64_t>& lengths, int64_t total, int64_t vocab, int64_t pad,
                                uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto n = static_cast<int64_t>(lengths.size());
  data::Batch b;
  b.input_ids = at::randint(2, vocab, {n, total}, gen, torch::kInt64);
  b.attention_mask = torch::zeros({n, total}, torch::kInt64);
  b.token_type_ids = torch::zeros({n, total}, torch::kInt64);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = lengths[static_cast<size_t>(i)];
    b.attention_mask[i].narrow(0, 0, len).fill_(1);
    b.token_type_ids[i].narrow(0, len / 2, len - len / 2).fill_(1);
    b.input_ids[i].narrow(0, len, total - len).fill_(pad);
  }
  return b;
}

}  // namespace ptm::test::bert
