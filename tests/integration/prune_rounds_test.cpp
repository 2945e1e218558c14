// Lottery-ticket rounds while pretraining (recipes/prune/gpt_tiny_lottery.yaml, shrunk to
// seconds) on the real Jane Austen shards: per-step sparsity and round in metrics.jsonl, the LR
// schedule restarted at the rewind step, the step-k weights kept in the checkpoints, a run
// stopped at a round's end or mid-round resuming bit for bit, and bad round keys refused.
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

// 3 rounds of 4 steps rewound to step 2, then the ticket trains steps 13..16. A constant
// schedule with a 4-step warmup: lr = 0.003 x position / 4 below position 4, else 0.003.
const std::string kRun =
    "pretrain --config recipes/prune/gpt_tiny_lottery.yaml model.n_layer=2 model.n_embd=32 model.n_head=2"
    " data.seq_len=32 train.batch_size=2 train.max_steps=16 train.save_every=2 train.keep_last=0 train.log_every=1"
    " train.eval_every=0 train.eval_batches=1 prune.round_steps=4 prune.rewind.to_step=2 schedule.type=constant"
    " schedule.warmup_steps=4 ~schedule.final_lr_fraction";

void need_data() {
  REQUIRE(ptm::test::prepare_data("janeausten_bpe8k", "recipes/data/janeausten_bpe.yaml") == "");
}

std::map<int64_t, nlohmann::json> train_records(const std::string& metrics_file) {
  std::map<int64_t, nlohmann::json> out;
  std::istringstream in(read_text(metrics_file));
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("loss") && j.contains("lr")) out[j["step"].get<int64_t>()] = j;
  }
  return out;
}

std::string checkpoint(const std::string& run, int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "/checkpoints/step_%08lld", static_cast<long long>(step));
  return run + name;
}

// Each file of the final checkpoint of two runs has the same bytes.
void same_end(const std::string& a, const std::string& b) {
  for (const char* f : {"model.safetensors", "optimizer.safetensors", "masks.safetensors"}) {
    INFO(f);
    CHECK(ptm::sha256_file(checkpoint(a, 16) + "/" + f) == ptm::sha256_file(checkpoint(b, 16) + "/" + f));
  }
}

}  // namespace

TEST_CASE("lottery rounds while pretraining: sparsity per round, LR restarted at the rewind step, step-k weights kept",
          "[integration][compress]") {
  need_data();
  ptm::test::TempDir tmp;
  const auto r = run_ptm(kRun + " --run-dir " + tmp.file("a"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto records = train_records(tmp.file("a/metrics.jsonl"));
  REQUIRE(records.size() == 16);
  for (int64_t step = 1; step <= 16; ++step) {
    INFO("step " << step);
    const auto& rec = records.at(step);
    // Round r's pruning comes before step 4r + 1; 50%, 75%, 87.5% (per tensor: sizes are multiples of 8).
    const int64_t round = (step - 1) / 4;
    CHECK(rec["prune_round"].get<int64_t>() == round);
    CHECK(rec["sparsity"].get<double>() == Approx(ptm::compress::round_sparsity(0.875, 3, round)).margin(1e-12));
    // Optimizer step `step` reads the schedule at position step - 1 in round 0, else
    // 2 + (step - 1 - 4 x round) (the position of step 2 onward).
    const int64_t position = round == 0 ? step - 1 : 2 + (step - 1 - 4 * round);
    CHECK(rec["lr"].get<double>() == Approx(0.003 * std::min<double>(position, 4) / 4.0).epsilon(1e-9));
  }
  CHECK(contains(read_text(tmp.file("a/log.txt")), "rewound the surviving weights to their values at step 2"));
  // The checkpoints from step 2 on hold the weights of step 2 (the model's, saved then).
  const auto at2 = ptm::models::load_safetensors(checkpoint(tmp.file("a"), 2) + "/model.safetensors");
  std::map<std::string, torch::Tensor> model2(at2.begin(), at2.end());
  for (const int64_t step : {2, 8, 16}) {
    INFO("checkpoint " << step);
    int64_t rewind = 0;
    for (const auto& [name, t] : ptm::models::load_safetensors(checkpoint(tmp.file("a"), step) + "/masks.safetensors")) {
      if (name.rfind("rewind/", 0) != 0) continue;
      ++rewind;
      const auto it = model2.find(name.substr(7));
      REQUIRE(it != model2.end());
      CHECK((torch::equal(t, it->second) || (t.dim() == 2 && torch::equal(t.t(), it->second))));
    }
    CHECK(rewind > 8);
  }
}

TEST_CASE("lottery rounds stopped at a round's end or mid-round resume bit for bit", "[integration][compress]") {
  need_data();
  ptm::test::TempDir tmp;
  // Random scores: a resumed run that lost its masks or its step draws would prune others.
  const std::string run = kRun + " prune.criterion=random --run-dir ";
  REQUIRE(run_ptm(run + tmp.file("a")).exit_code == 0);
  REQUIRE(run_ptm(run + tmp.file("b")).exit_code == 0);
  // Step 4: round 1 ended, checkpointed before its pruning; step 6: mid-round 2 after the rewind.
  for (const int64_t resume_at : {4, 6}) {
    INFO("resumed at step " << resume_at);
    for (int64_t step = resume_at + 2; step <= 16; step += 2) fs::remove_all(checkpoint(tmp.file("b"), step));
    fs::remove(tmp.file("b/summary.json"));
    const auto r = run_ptm(run + tmp.file("b"));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(contains(read_text(tmp.file("b/log.txt")), "at step " + std::to_string(resume_at)));
    same_end(tmp.file("a"), tmp.file("b"));
    const auto a = train_records(tmp.file("a/metrics.jsonl")), b = train_records(tmp.file("b/metrics.jsonl"));
    REQUIRE(a.size() == b.size());
    for (const auto& [step, rec] : a) {
      CHECK(rec["loss"] == b.at(step)["loss"]);
      CHECK(rec["sparsity"] == b.at(step)["sparsity"]);
    }
  }
}

TEST_CASE("bad pruning rounds exit 2 naming the key, writing nothing", "[integration][compress]") {
  need_data();
  ptm::test::TempDir tmp;
  const std::string out = tmp.file("bad");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"~prune.round_steps", "prune.rounds"},
      {"prune.rounds=0", "prune.rounds"},
      {"prune.every=2", "prune.every"},  // the gradual schedule's
      {"prune.rewind.to_step=4", "prune.rewind"},  // not before the first round ends
      {"prune.rewind=sometimes", "prune.rewind"},
      {"prune.rewind.when=2", "prune.rewind.when"},
      {"train.max_steps=12", "prune.round_steps"},  // the ticket would not train
      {"prune.granularity=nm ~prune.sparsity", "prune.rounds"},
  };
  for (const auto& [args, key] : cases) {
    INFO(args);
    const auto r = run_ptm(kRun + " --run-dir " + out + " " + args);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, key));
    CHECK_FALSE(fs::exists(out));
  }
  // Rewinding belongs to rounds.
  const auto r = run_ptm("pretrain --config recipes/prune/gpt_tiny_gradual50.yaml prune.rewind=init --run-dir " + out);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "prune.rewind"));
  CHECK_FALSE(fs::exists(out));
}
