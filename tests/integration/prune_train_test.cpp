// Pruning while pretraining (recipes/prune/gpt_tiny_gradual50.yaml, shrunk to seconds) on the
// real Jane Austen shards: the sparsity of the cubic schedule in metrics.jsonl, pruned weights
// exactly zero after training, a run stopped mid-schedule and resumed ending with the same
// weights and masks as an uninterrupted one, N:M, and bad schedules refused with exit 2.
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "ptm/compress/gradual_pruner.h"
#include "ptm/core/sha256.h"
#include "ptm/models/safetensors.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

namespace {

const std::string kRun =
    "pretrain --config recipes/prune/gpt_tiny_gradual50.yaml model.n_layer=2 model.n_embd=32 model.n_head=2"
    " data.seq_len=32 train.batch_size=2 train.max_steps=12 train.save_every=4 train.keep_last=0 train.log_every=1"
    " train.eval_every=0 train.eval_batches=1 prune.initial_sparsity=0.1 prune.start_step=2 prune.end_step=10"
    " prune.every=2";

void need_data() {
  REQUIRE(ptm::test::prepare_data("janeausten_bpe8k", "recipes/data/janeausten_bpe.yaml") == "");
}

std::map<int64_t, double> logged_sparsity(const std::string& metrics_file) {
  std::map<int64_t, double> out;
  std::istringstream in(read_text(metrics_file));
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("sparsity")) out[j["step"].get<int64_t>()] = j["sparsity"].get<double>();
  }
  return out;
}

// Each mask with the saved weight it belongs to, as [out, in] (GPT-2's Conv1D stores [in, out]).
std::vector<std::pair<torch::Tensor, torch::Tensor>> masked_weights(const std::string& checkpoint) {
  const auto weights = ptm::models::load_safetensors(checkpoint + "/model.safetensors");
  std::vector<std::pair<torch::Tensor, torch::Tensor>> out;
  for (const auto& [name, mask] : ptm::models::load_safetensors(checkpoint + "/masks.safetensors")) {
    for (const auto& [wname, w] : weights) {
      const std::string suffix = name + ".weight";
      if (wname.size() < suffix.size() || wname.compare(wname.size() - suffix.size(), suffix.size(), suffix) != 0)
        continue;
      out.emplace_back(mask, w.t());
    }
  }
  return out;
}

}  // namespace

TEST_CASE("pretraining with gradual pruning follows the cubic schedule and keeps pruned weights zero",
          "[integration][compress]") {
  need_data();
  ptm::test::TempDir tmp;
  const auto r = run_ptm(kRun + " --run-dir " + tmp.file("a"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto sparsity = logged_sparsity(tmp.file("a/metrics.jsonl"));
  REQUIRE(sparsity.size() == 12);
  // Pruned at steps 2, 4, ..., 10 to the schedule's value; per tensor floor(s x numel), so the
  // share of all target weights is within one weight per tensor of it.
  for (int64_t step = 1; step <= 12; ++step) {
    INFO("step " << step);
    const int64_t last = step < 2 ? -1 : std::min<int64_t>(step - step % 2, 10);
    const double expected = last < 0 ? 0.0 : ptm::compress::cubic_sparsity(0.1, 0.5, 2, 10, last);
    CHECK(std::abs(sparsity.at(step) - expected) < 1e-3);
  }
  CHECK(sparsity.at(12) == Approx(0.5).margin(1e-3));
  CHECK(nlohmann::json::parse(read_text(tmp.file("a/summary.json")))["sparsity"].get<double>() == sparsity.at(12));
  const auto pairs = masked_weights(tmp.file("a/checkpoints/step_00000012"));
  REQUIRE(pairs.size() == 8);  // q/k/v, attention out, fc, proj of 2 layers: the Linear layers inside them
  for (const auto& [mask, w] : pairs) {
    CHECK((mask == 0).sum().item<int64_t>() == mask.numel() / 2);
    CHECK(torch::equal(w == 0, mask == 0));  // exactly the pruned ones are zero, after 2 more steps
  }
  // The masks grew between checkpoints: what step 4 pruned is still pruned at step 8.
  const auto at4 = masked_weights(tmp.file("a/checkpoints/step_00000004"));
  const auto at8 = masked_weights(tmp.file("a/checkpoints/step_00000008"));
  for (size_t i = 0; i < at4.size(); ++i) {
    CHECK(((at4[i].first == 0) & at8[i].first).sum().item<int64_t>() == 0);
    CHECK((at8[i].first == 0).sum().item<int64_t>() > (at4[i].first == 0).sum().item<int64_t>());
  }
}

TEST_CASE("a gradually pruned run stopped mid-schedule resumes bit for bit", "[integration][compress]") {
  need_data();
  ptm::test::TempDir tmp;
  // Random scores: a resumed run that lost its masks would prune other weights.
  const std::string run = kRun + " prune.criterion=random --run-dir ";
  REQUIRE(run_ptm(run + tmp.file("a")).exit_code == 0);
  REQUIRE(run_ptm(run + tmp.file("b")).exit_code == 0);
  // A crash after the step-4 checkpoint (sparsity between initial and final).
  fs::remove_all(tmp.file("b/checkpoints/step_00000008"));
  fs::remove_all(tmp.file("b/checkpoints/step_00000012"));
  fs::remove(tmp.file("b/summary.json"));
  const auto r = run_ptm(run + tmp.file("b"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(read_text(tmp.file("b/log.txt")), "at step 4"));
  for (const char* f : {"model.safetensors", "optimizer.safetensors", "masks.safetensors"})
    CHECK(ptm::sha256_file(tmp.file(std::string("a/checkpoints/step_00000012/") + f)) ==
          ptm::sha256_file(tmp.file(std::string("b/checkpoints/step_00000012/") + f)));
  CHECK(logged_sparsity(tmp.file("a/metrics.jsonl")) == logged_sparsity(tmp.file("b/metrics.jsonl")));
}

TEST_CASE("pretraining with 2:4 pruning keeps two zeros in every group of four", "[integration][compress]") {
  need_data();
  ptm::test::TempDir tmp;
  // The first layer frozen: its weights have no gradient to mask, and are pruned all the same.
  const auto r = run_ptm(kRun +
                         " prune.granularity=nm ~prune.sparsity ~prune.initial_sparsity ~prune.end_step"
                         " ~prune.every freeze.first_layers=1 --run-dir " +
                         tmp.file("nm"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto sparsity = logged_sparsity(tmp.file("nm/metrics.jsonl"));
  CHECK(sparsity.at(1) == 0.0);
  CHECK(sparsity.at(2) == 0.5);
  const auto pairs = masked_weights(tmp.file("nm/checkpoints/step_00000012"));
  REQUIRE(pairs.size() == 8);
  for (const auto& [mask, w] : pairs)  // [out, in]: groups of 4 along the input dimension
    CHECK(torch::equal((w.reshape({-1, 4}) == 0).sum(1), torch::full({w.numel() / 4}, 2, torch::kLong)));
}

TEST_CASE("bad pruning schedules exit 2 naming the key, writing nothing", "[integration][compress]") {
  need_data();
  ptm::test::TempDir tmp;
  const std::string out = tmp.file("bad");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"prune.sparsity=0.05", "prune.sparsity"},  // below initial_sparsity 0.1
      {"prune.end_step=2", "prune.end_step"},     // not after start_step 2
      {"prune.sparsity=1", "prune.sparsity"},
      {"prune.initial_sparsity=-0.1", "prune.initial_sparsity"},
      {"prune.end_step=20", "prune.end_step"},  // after train.max_steps
      {"prune.criterion=wanda", "prune.criterion"},
      {"prune.granularity=nm prune.m=3 ~prune.sparsity ~prune.initial_sparsity ~prune.end_step ~prune.every",
       "prune.m"},
      {"prune.granularity=nm", "prune.sparsity"},  // unstructured keys with nm
      {"prune.targets=[nothing]", "prune.targets"},
      {"prune.recover=true", "prune.recover"},
      {"peft.method=lora", "peft"},
      {"train.ema_decay=0.9", "train.ema_decay"},
  };
  for (const auto& [args, key] : cases) {
    INFO(args);
    const auto r = run_ptm(kRun + " --run-dir " + out + " " + args);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, key));
    CHECK_FALSE(fs::exists(out));
  }
}
