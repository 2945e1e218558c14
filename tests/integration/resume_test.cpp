// What a resumed run leaves behind: each step logged once, a changed recipe refused (or
// recorded), the newest intact checkpoint chosen, EMA weights inside the checkpoint; and the
// checks that stop a run before it writes or trains on something wrong: non-finite weights,
// data that does not fit the model, init_from weights that fit nothing.
#include <filesystem>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/sha256.h"
#include "ptm/models/safetensors.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

namespace {
const std::string kRecipe = "pretrain --config tests/fixtures/recipes/pretrain_mlp.yaml";
const std::string kGpt = "pretrain --config tests/fixtures/recipes/pretrain_gpt_small.yaml";

// "step:split" for every record of a JSON-lines log, in order.
std::vector<std::string> steps_of(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(read_text(path));
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    out.push_back(std::to_string(j["step"].get<int64_t>()) + (j.contains("split") ? ":eval" : ""));
  }
  return out;
}

// The steps of log.txt's step lines ("step 15/20 ...") and, as "K:eval", its evaluation lines.
std::vector<std::string> logged_steps(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(read_text(path));
  static const std::regex kStep(R"(\] (eval )?step (\d+)[/:])");
  std::smatch m;
  for (std::string line; std::getline(in, line);)
    if (std::regex_search(line, m, kStep)) out.push_back(m[2].str() + (m[1].matched ? ":eval" : ""));
  return out;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A finished run turned into one killed after its step-10 checkpoint.
void kill_after_step_10(const std::string& dir) {
  fs::remove_all(dir + "/checkpoints/step_00000020");
  fs::remove(dir + "/summary.json");
}
}  // namespace

TEST_CASE("a resumed run logs each step once", "[integration][train][resume]") {
  ptm::test::TempDir tmp;
  REQUIRE(run_ptm(kRecipe + " --run-dir " + tmp.file("a")).exit_code == 0);
  const auto uninterrupted = steps_of(tmp.file("a/metrics.jsonl"));
  REQUIRE(uninterrupted == std::vector<std::string>{"5", "10", "15", "20", "20:eval"});
  REQUIRE(run_ptm(kRecipe + " --run-dir " + tmp.file("b")).exit_code == 0);
  kill_after_step_10(tmp.file("b"));
  // The kill also tore the last line in half.
  ptm::fs_util::append_file(tmp.file("b/metrics.jsonl"), "{\"step\": 21, \"lo");
  auto r = run_ptm(kRecipe + " --run-dir " + tmp.file("b"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(steps_of(tmp.file("b/metrics.jsonl")) == uninterrupted);
  // The console log too: its lines of steps 15 and 20 go, the first session's start and the
  // resume stay.
  REQUIRE(logged_steps(tmp.file("a/log.txt")) == uninterrupted);
  auto log = read_text(tmp.file("b/log.txt"));
  CHECK(logged_steps(tmp.file("b/log.txt")) == uninterrupted);
  CHECK(count_of(log, "] run directory ") == 2);
  CHECK(count_of(log, "resumed from " + tmp.file("b/checkpoints/step_00000010") + " at step 10") == 1);
  CHECK(count_of(log, "checkpoint " + tmp.file("b/checkpoints/step_00000020")) == 1);
  // Killed before its first checkpoint: the run starts over, and its log with it.
  fs::remove_all(tmp.file("b/checkpoints"));
  fs::remove(tmp.file("b/summary.json"));
  r = run_ptm(kRecipe + " --run-dir " + tmp.file("b"));
  REQUIRE(r.exit_code == 0);
  CHECK(steps_of(tmp.file("b/metrics.jsonl")) == uninterrupted);
  CHECK(logged_steps(tmp.file("b/log.txt")) == uninterrupted);
  CHECK(count_of(read_text(tmp.file("b/log.txt")), "resumed from") == 0);
}

TEST_CASE("resuming under a recipe changed in keys that alter the run is refused unless allowed",
          "[integration][train][resume]") {
  ptm::test::TempDir tmp;
  const std::string dir = tmp.file("run");
  REQUIRE(run_ptm(kRecipe + " --run-dir " + dir).exit_code == 0);
  kill_after_step_10(dir);
  const auto config_before = read_text(dir + "/config.yaml");
  const auto metrics_before = read_text(dir + "/metrics.jsonl");
  auto r = run_ptm(kRecipe + " --run-dir " + dir + " train.batch_size=8 optimizer.lr=0.02");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "train.batch_size: was 4 in the run being resumed"));
  CHECK(contains(r.err, "now 8"));
  CHECK(contains(r.err, "optimizer.lr: was 0.01"));
  CHECK(contains(r.err, "--allow-recipe-change"));
  CHECK(read_text(dir + "/config.yaml") == config_before);  // nothing touched
  CHECK(read_text(dir + "/metrics.jsonl") == metrics_before);
  // Logging and checkpoint cadence may change: the run stays the same run.
  r = run_ptm(kRecipe + " --run-dir " + dir + " train.log_every=10 train.keep_last=3 --allow-recipe-change");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(fs::exists(dir + "/recipe_changes.jsonl"));  // nothing that alters the run changed
  kill_after_step_10(dir);
  r = run_ptm(kRecipe + " --run-dir " + dir + " train.log_every=10 train.max_steps=30 --allow-recipe-change");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto record = nlohmann::json::parse(read_text(dir + "/recipe_changes.jsonl"));
  CHECK(contains(record["resumed_from"].get<std::string>(), "step_00000010"));
  REQUIRE(record["changes"].size() == 1);
  CHECK(record["changes"][0] == nlohmann::json{{"key", "train.max_steps"}, {"before", "20"}, {"after", "30"}});
  CHECK(nlohmann::json::parse(read_text(dir + "/summary.json"))["steps"] == 30);
}

TEST_CASE("resuming passes over a damaged newest checkpoint and ends as an uninterrupted run",
          "[integration][train][resume]") {
  ptm::test::TempDir tmp;
  REQUIRE(run_ptm(kRecipe + " --run-dir " + tmp.file("a")).exit_code == 0);
  const std::string dir = tmp.file("b");
  REQUIRE(run_ptm(kRecipe + " --run-dir " + dir + " train.save_every=5 train.keep_last=0").exit_code == 0);
  fs::remove_all(dir + "/checkpoints/step_00000020");
  fs::remove_all(dir + "/checkpoints/step_00000015");
  fs::remove(dir + "/summary.json");
  // step 10: altered after it was written; step 5 is intact.
  fs::resize_file(dir + "/checkpoints/step_00000010/model.safetensors", 64);
  auto r = run_ptm(kRecipe + " --run-dir " + dir + " train.save_every=5 --resume " + dir + "/checkpoints/step_00000010");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "step_00000010' is damaged: model.safetensors has 64 bytes"));
  r = run_ptm(kRecipe + " --run-dir " + dir + " train.save_every=5");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.err, "step_00000010 is damaged"));
  CHECK(contains(read_text(dir + "/log.txt"), "resumed from " + dir + "/checkpoints/step_00000005 at step 5"));
  CHECK(ptm::sha256_file(tmp.file("a/checkpoints/step_00000020/model.safetensors")) ==
        ptm::sha256_file(dir + "/checkpoints/step_00000020/model.safetensors"));
}

TEST_CASE("EMA weights are part of the atomic checkpoint", "[integration][train][resume]") {
  ptm::test::TempDir tmp;
  const std::string dir = tmp.file("run");
  const auto r = run_ptm(kRecipe + " --run-dir " + dir + " train.ema_decay=0.9");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto done = nlohmann::json::parse(read_text(dir + "/checkpoints/step_00000020/DONE"));
  REQUIRE(done["files"].contains("ema.safetensors"));
  CHECK(done["files"]["ema.safetensors"]["sha256"] == ptm::sha256_file(dir + "/checkpoints/step_00000020/ema.safetensors"));
}

TEST_CASE("non-finite weights are never checkpointed or chosen as best", "[integration][train]") {
  ptm::test::TempDir tmp;
  const std::string dir = tmp.file("run");
  // Gradient noise of infinite variance, unclipped: the weights turn non-finite in the first
  // step, and the loss is logged too rarely to notice before the save.
  const auto r = run_ptm(kRecipe + " --run-dir " + dir +
                         " train.grad_noise_eta=.inf train.clip_grad_norm=0 train.log_every=1000 train.save_every=3"
                         " train.eval_every=3 train.best_metric=loss");
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "the weights hold non-finite values at step 3; checkpoint not written"));
  CHECK_FALSE(fs::exists(dir + "/checkpoints/step_00000003"));
  CHECK_FALSE(fs::exists(dir + "/checkpoints/best"));
}

TEST_CASE("data that does not fit the model stops before the first step, naming both sides", "[integration][train]") {
  ptm::test::TempDir tmp;
  auto r = run_ptm(kGpt + " --run-dir " + tmp.file("a") + " model.vocab_size=100");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "model.vocab_size: 100 is smaller than the data's vocabulary of 300 tokens"));
  r = run_ptm(kGpt + " --run-dir " + tmp.file("b") + " data.seq_len=64");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "inputs of 64 tokens"));
  CHECK(contains(r.err, "longer than the 32 positions of the gpt model"));
}

TEST_CASE("init_from weights that fit none of the model's tensors are refused", "[integration][train]") {
  ptm::test::TempDir tmp;
  // A folder of weights for something else: names the model does not have.
  fs::create_directories(tmp.file("other"));
  ptm::models::save_safetensors(tmp.file("other/model.safetensors"),
                                {{"encoder.weight", torch::ones({4, 4})}, {"decoder.bias", torch::ones({4})}});
  const auto r = run_ptm(kGpt + " --run-dir " + tmp.file("run") + " init_from.hf=" + tmp.file("other"));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "loads 0.0% of the gpt model's"));
  CHECK(contains(r.err, "decoder.bias"));
}
