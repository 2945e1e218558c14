// The pretraining recipes end to end on Jane Austen (short runs: the steps are overridden):
// BERT MLM, ELECTRA, UL2 on a decoder, MiniLM domain-adaptive pretraining, and recipe errors.
#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

namespace {

// Golden values of the held-out split of data/prepared/janeausten_minilm from numpy, not ptm
// (tests/golden/unigram_baseline.py): the add-one unigram model of the training split scores
// 6.36 nats (always guessing the most frequent token, ",", is right 6.4% of the time), an
// interpolated bigram model 4.94; the uniform distribution over the vocabulary ln 30522 = 10.33.
constexpr double kUniform = 10.33;

const char* kShort = " train.log_every=10 train.eval_every=0 train.save_every=0 train.eval_batches=4";

// Prepares data/prepared/janeausten_minilm when a checkout lacks it (about 5 s).
void need_data() {
  REQUIRE(ptm::test::prepare_data("janeausten_minilm", "recipes/data/janeausten_minilm.yaml") == "");
}

nlohmann::json pretrain(const ptm::test::TempDir& tmp, const std::string& recipe, const std::string& args) {
  need_data();
  const auto r = run_ptm("pretrain --config recipes/pretrain/" + recipe + " --run-dir " + tmp.file("run") + kShort +
                         " " + args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(read_text(tmp.file("run/summary.json")));
}

}  // namespace

TEST_CASE("bert_mini_mlm trains masked LM on Jane Austen up to the word-frequency level", "[integration][objectives]") {
  // 40 steps show training, not context: a from-scratch BERT sits at the frequency plateau for
  // hundreds of steps (RESULTS.md: 300 steps of 16 x 128 reach 6.22), so the loss must only leave
  // the uniform kUniform for the frequency level (a smoke test of the recipe; no accuracy check:
  // at this level it is the rate of the most frequent token). That masked LM learns context is
  // checked on MiniLM below. (A lower bound would not catch targets shown in the input either:
  // with the corruption switched off, 40 steps still end at 7.26.)
  ptm::test::TempDir tmp;
  const auto s = pretrain(tmp, "bert_mini_mlm.yaml", "train.max_steps=40 train.batch_size=8 data.seq_len=64");
  INFO(s.dump());
  CHECK(s["eval"]["loss"].get<double>() < kUniform - 1.8);
}

TEST_CASE("electra_small trains generator and discriminator and exports the discriminator", "[integration][objectives]") {
  ptm::test::TempDir tmp;
  const auto s = pretrain(tmp, "electra_small.yaml", "train.max_steps=100 train.batch_size=8 data.seq_len=64");
  INFO(s.dump());
  const auto& e = s["eval"];
  // Calling every token original scores 1 - replaced_fraction at a loss equal to the binary
  // entropy of that fraction: the discriminator must do better than this prior. At 100 steps it
  // may do so from token identity alone (the generator's samples are still odd tokens; RESULTS.md),
  // so this shows that both halves train, not that the discriminator reads context.
  const double q = e["replaced_fraction"].get<double>();
  CHECK(q > 0.1);
  CHECK(e["discriminator_accuracy"].get<double>() > 1 - q + 0.01);
  CHECK(e["discriminator_loss"].get<double>() < -(q * std::log(q) + (1 - q) * std::log(1 - q)) - 0.05);
  // The generator's MLM accuracy is not asserted: after 100 steps it is at the frequency level
  // (always "," scores 6.4%), which says nothing about the objective.
  // The discriminator loads into a bert classifier (generator tensors unused).
  const auto r = run_ptm("pretrain --config recipes/pretrain/bert_mini_mlm.yaml --run-dir " + tmp.file("bert") +
                         " init_from.checkpoint=" + tmp.file("run/checkpoints/latest") +
                         " init_from.strict=false train.max_steps=1 train.batch_size=2 data.seq_len=32" + kShort);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(read_text(tmp.file("bert/log.txt")), "generator.encoder.layer.0"));  // reported unused
}

TEST_CASE("ul2_tiny trains a decoder on the mixture of denoisers up to the word-frequency level",
          "[integration][objectives]") {
  // As for bert_mini_mlm: 40 steps reach word frequencies (RESULTS.md: 6.18 after 300 steps).
  ptm::test::TempDir tmp;
  const auto s = pretrain(tmp, "ul2_tiny.yaml", "train.max_steps=40 train.batch_size=8 data.seq_len=64");
  INFO(s.dump());
  CHECK(s["eval"]["loss"].get<double>() < kUniform - 2.3);
}

TEST_CASE("minilm_dapt's pretrained backbone ends far below the same steps from random weights",
          "[integration][objectives]") {
  // The MLM head starts fresh, so a few steps lower the loss from ln 30522 whatever the backbone
  // holds: learning word frequencies is enough for that (the old check, 12 steps against 1, also
  // passed from random weights: 9.40 against 10.44). The control is the same 8 steps on the same
  // held-out windows and masks from random weights (~init_from): 6.67 against 9.61 when measured,
  // so a backbone that init_from did not load, or that the head does not read, fails.
  // (Below the frequency level, 6.36, takes 20-30 steps here, and when it happens depends on
  // the schedule by chance: too fragile for a test.)
  ptm::test::TempDir pretrained, scratch;
  const std::string small = "train.max_steps=8 train.batch_size=4 data.seq_len=64 train.eval_batches=8";
  const auto s1 = pretrain(pretrained, "minilm_dapt.yaml", small);
  const auto s0 = pretrain(scratch, "minilm_dapt.yaml", small + " ~init_from");
  INFO(s0.dump() << "\n" << s1.dump());
  CHECK(s0["eval"]["targets"] == s1["eval"]["targets"]);  // the same masked tokens
  CHECK(s1["eval"]["loss"].get<double>() < s0["eval"]["loss"].get<double>() - 1.0);
}

TEST_CASE("objective recipe errors are reported by key", "[integration][objectives]") {
  const auto r = run_ptm(
      "validate --config recipes/pretrain/bert_mini_mlm.yaml objective.rate=2 objective.spn_mean=3 "
      "objective.span_distribution=geometrik 'objective.denoisers=[{mode: prefx}]'");
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "objective.spn_mean: unknown key (did you mean span_mean?)"));
  CHECK(contains(r.err, "objective.denoisers.0.mode: 'prefx' is not one of"));
  const auto r2 = run_ptm("validate --config recipes/pretrain/bert_mini_mlm.yaml objective.rate=2 objective.tokenizer=nope.txt");
  CHECK(r2.exit_code == 2);
  CHECK(contains(r2.err, "objective.rate: must be in (0, 1), got 2"));
  CHECK(contains(r2.err, "objective.tokenizer: 'nope.txt' does not exist"));
  for (const char* recipe : {"bert_mini_mlm", "electra_small", "ul2_tiny", "minilm_dapt"}) {
    INFO(recipe);
    CHECK(run_ptm(std::string("validate --config recipes/pretrain/") + recipe + ".yaml").exit_code == 0);
  }
}
