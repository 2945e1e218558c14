// `ptm pretrain` on a mixture of two real prepared sets (Jane Austen and the Linux kernel
// documentation, one BPE): per-source token counts in metrics.jsonl in the recipe's shares,
// a run resumed after a crash bit-identical to an uninterrupted one, 2 ranks drawing what one
// process draws with the same global batch, and the refusals of
// data sets with different tokenizers and of all-zero weights.
#include <filesystem>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/sha256.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

namespace {
const std::string kRecipe = "pretrain --config recipes/pretrain/gpt_tiny_mixture.yaml";

void need_data() {
  REQUIRE(ptm::test::prepare_data("janeausten_bpe8k", "recipes/data/janeausten_bpe.yaml") == "");
  REQUIRE(ptm::test::prepare_data("linux_doc_austen_bpe8k", "recipes/data/linux_doc_austen_bpe.yaml") == "");
}

// The training records of metrics.jsonl by step; a step logged twice keeps its last record.
std::map<int64_t, nlohmann::json> train_records(const std::string& metrics_file) {
  std::map<int64_t, nlohmann::json> out;
  std::istringstream in(read_text(metrics_file));
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (!j.contains("split")) out[j["step"].get<int64_t>()] = j;
  }
  return out;
}
}  // namespace

TEST_CASE("a mixture pretrains in its shares, logs each source's tokens and resumes bit for bit",
          "[integration][train][mixture]") {
  need_data();
  ptm::test::TempDir tmp;
  const int64_t T = 32, B = 3;
  const std::string args = " train.max_steps=6 train.save_every=3 train.log_every=1 train.eval_every=0"
                           " train.eval_batches=2 train.batch_size=3 data.seq_len=32";
  const auto run = [&](const std::string& dir) { return run_ptm(kRecipe + " --run-dir " + tmp.file(dir) + args); };
  auto r = run("a");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(read_text(tmp.file("a/log.txt")), "data: mixture [train] of 2 sources: austen"));
  const auto a = train_records(tmp.file("a/metrics.jsonl"));
  REQUIRE(a.size() == 6);
  for (const auto& [step, rec] : a) {
    INFO("step " << step);
    const int64_t austen = rec.at("tokens_seen_austen"), linux_doc = rec.at("tokens_seen_linux_doc");
    CHECK(austen + linux_doc == rec.at("tokens_seen").get<int64_t>());
    CHECK(rec.at("tokens_seen").get<int64_t>() == step * B * T);
    // 70/30 of the windows so far, within one window.
    CHECK(std::abs(static_cast<double>(austen / T) - 0.7 * static_cast<double>(step * B)) < 1.0);
  }
  r = run("b");
  REQUIRE(r.exit_code == 0);
  // A crash after the step-3 checkpoint: a new process continues from it.
  fs::remove_all(tmp.file("b/checkpoints/step_00000006"));
  fs::remove(tmp.file("b/summary.json"));
  r = run("b");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(read_text(tmp.file("b/log.txt")), "resumed from " + tmp.file("b/checkpoints/step_00000003")));
  const auto b = train_records(tmp.file("b/metrics.jsonl"));
  REQUIRE(b.size() == 6);
  for (int64_t step = 4; step <= 6; ++step) {
    INFO("step " << step);
    CHECK(a.at(step)["loss"] == b.at(step)["loss"]);  // bit-identical, not close
    CHECK(a.at(step)["tokens_seen_austen"] == b.at(step)["tokens_seen_austen"]);
    CHECK(a.at(step)["tokens_seen_linux_doc"] == b.at(step)["tokens_seen_linux_doc"]);
  }
  for (const char* f : {"model.safetensors", "optimizer.safetensors"})
    CHECK(ptm::sha256_file(tmp.file(std::string("a/checkpoints/step_00000006/") + f)) ==
          ptm::sha256_file(tmp.file(std::string("b/checkpoints/step_00000006/") + f)));
}

TEST_CASE("2 Gloo ranks draw a mixture's windows as one process with the same global batch",
          "[integration][dist][mixture]") {
  need_data();
  ptm::test::TempDir tmp;
  // SGD: the weights of any two summation orders stay within float noise (data_parallel_test.cpp).
  const auto run = [&](const std::string& dir, int batch) {
    return kRecipe + " --run-dir " + tmp.file(dir) +
           " optimizer.type=sgd optimizer.lr=0.3 train.max_steps=4 train.save_every=0 train.log_every=2"
           " train.eval_every=0 train.eval_batches=2 data.seq_len=32 train.batch_size=" + std::to_string(batch);
  };
  auto r = run_ptm(run("one", 6));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = run_ptm("launch --nproc 2 -- " + run("dp", 3));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto one = train_records(tmp.file("one/metrics.jsonl")), dp = train_records(tmp.file("dp/metrics.jsonl"));
  REQUIRE(one.size() == 2);
  REQUIRE(dp.size() == 2);
  for (const int64_t step : {2, 4}) {
    INFO("step " << step);
    // The counts are the whole run's (both ranks'), as one process draws them.
    CHECK(dp.at(step)["tokens_seen_austen"] == one.at(step)["tokens_seen_austen"]);
    CHECK(dp.at(step)["tokens_seen_linux_doc"] == one.at(step)["tokens_seen_linux_doc"]);
    CHECK(dp.at(step)["loss"].get<double>() == Approx(one.at(step)["loss"].get<double>()).epsilon(1e-5));
  }
}

TEST_CASE("a mixture of data sets with different tokenizers, or of zero weights, exits 2 naming them",
          "[integration][train][mixture][messages]") {
  need_data();
  REQUIRE(ptm::test::prepare_data("janeausten_minilm", "recipes/data/janeausten_minilm.yaml") == "");
  ptm::test::TempDir tmp;
  const auto recipe = [&](const std::string& second, double w0, double w1) {
    return tmp.write("mix.yaml", "base: [" + std::string(ptm::test::source_dir()) +
                                     "/recipes/pretrain/gpt_tiny_mixture.yaml]\n"
                                     "data:\n  sources:\n    - {path: data/prepared/janeausten_bpe8k, weight: " +
                                     std::to_string(w0) + "}\n    - {path: " + second + ", weight: " +
                                     std::to_string(w1) + "}\n");
  };
  auto r = run_ptm("validate --config " + recipe("data/prepared/janeausten_minilm", 0.5, 0.5));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "data.sources: sources 0 ('data/prepared/janeausten_bpe8k') and 1 "
                        "('data/prepared/janeausten_minilm') were prepared with different tokenizers "
                        "(tokenizer.vocab_size 8192 vs 30522"));
  r = run_ptm("pretrain --config " + recipe("data/prepared/janeausten_minilm", 0.5, 0.5) + " --run-dir " +
              tmp.file("run"));
  CHECK(r.exit_code == 2);
  CHECK_FALSE(fs::exists(tmp.file("run/checkpoints")));
  r = run_ptm("validate --config " + recipe("data/prepared/linux_doc_austen_bpe8k", 0, 0));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "data.sources: the weights are all 0"));
}
