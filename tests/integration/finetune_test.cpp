// `ptm finetune` end to end on the real MiniLM and the fine-food reviews, kept to seconds:
// a linear probe leaves the backbone bit-identical to the Hugging Face weights, the whole-
// evaluation metrics and predictions file are written, checkpoints/best follows the best
// metric on the validation split and the test split is evaluated once, on checkpoints/best,
// early stopping stops, and a typo in freeze: is refused before any work.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "ptm/models/safetensors.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

namespace {

std::string quick(const std::string& dir) {
  const std::string data = ptm::test::data_dir();
  if (!fs::exists(data + "/models/minilm/model.safetensors") || !fs::exists(data + "/reviews/train.tsv"))
    FAIL("missing " << data << "/models/minilm or reviews: run scripts/get-data.sh");
  return "finetune --config recipes/finetune/minilm_sentiment.yaml --run-dir " + dir +
         " train.max_steps=3 train.batch_size=8 data.max_length=32 train.eval_every=0 train.eval_batches=2"
         " train.save_every=0 train.log_every=1";
}

// The evaluation records of metrics.jsonl for one split, in order.
std::vector<nlohmann::json> evaluations(const std::string& dir, const std::string& split) {
  std::ifstream m(dir + "/metrics.jsonl");
  std::vector<nlohmann::json> out;
  for (std::string l; std::getline(m, l);) {
    auto j = nlohmann::json::parse(l);
    if (j.value("split", "") == split) out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

TEST_CASE("a MiniLM linear probe trains only the classifier and writes metrics and predictions",
          "[integration][finetune]") {
  ptm::test::TempDir tmp;
  const std::string dir = tmp.file("run");
  // eval_every = max_steps: the evaluation at the last step is the final one (it runs once).
  const auto r = run_ptm(quick(dir) + " freeze.backbone=true train.eval_every=3");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto summary = nlohmann::json::parse(read_text(dir + "/summary.json"));
  CHECK(summary["trainable_parameters"] == 384 * 2 + 2);
  // Throughput counts real input tokens; the loss had one target per review.
  CHECK(summary["targets"] == 3 * 8);
  CHECK(summary["tokens"].get<int64_t>() > 3 * 8 * 8);
  CHECK(summary["tokens"].get<int64_t>() <= 3 * 8 * 32);
  CHECK(summary["tokens_per_s"].get<double>() > summary["targets_per_s"].get<double>());
  CHECK(evaluations(dir, "val").size() == 1);
  CHECK(evaluations(dir, "test").size() == 1);
  for (const char* k : {"accuracy", "macro_f1", "mcc", "precision", "recall", "f1", "loss"})
    CHECK(summary["eval"].contains(k));
  CHECK(summary["best"]["metric"] == "accuracy");
  CHECK(fs::exists(dir + "/checkpoints/best/DONE"));
  CHECK(read_text(dir + "/config.yaml").find("type: classification") != std::string::npos);

  // Backbone tensors are bit-identical to the Hugging Face weights they started from.
  const auto hf = ptm::models::load_safetensors(ptm::test::data_dir() + "/models/minilm/model.safetensors");
  const auto ours = ptm::models::load_safetensors(dir + "/checkpoints/step_00000003/model.safetensors");
  std::map<std::string, torch::Tensor> by_name;
  for (const auto& [k, v] : ours) by_name[k] = v;
  int compared = 0;
  for (const auto& [k, v] : hf) {
    if (k.find("embeddings.position_ids") != std::string::npos) continue;
    const std::string name = k.rfind("bert.", 0) == 0 ? k : "bert." + k;
    REQUIRE(by_name.count(name));
    CHECK(torch::equal(by_name[name], v));
    ++compared;
  }
  CHECK(compared > 90);

  // One prediction row per evaluated review, with probabilities that sum to one.
  std::ifstream in(dir + "/predictions.jsonl");
  std::string line;
  int rows = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    const auto p = j["probabilities"].get<std::vector<double>>();
    REQUIRE(p.size() == 2);
    CHECK(p[0] + p[1] == Approx(1.0).epsilon(1e-5));
    CHECK(j["prediction"] == (p[1] > p[0] ? 1 : 0));
    ++rows;
  }
  CHECK(rows == 16);
}

TEST_CASE("model selection reads the validation split and the test split is evaluated once, on checkpoints/best",
          "[integration][finetune]") {
  ptm::test::TempDir tmp;
  const std::string dir = tmp.file("run");
  // best_mode max on the loss keeps the weights of an early evaluation (the probe lowers the
  // loss), so checkpoints/best and the final weights differ.
  const auto r = run_ptm(quick(dir) + " freeze.backbone=true train.max_steps=4 train.eval_every=1"
                                      " train.best_metric=loss train.best_mode=max optimizer.lr=1e-2");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto summary = nlohmann::json::parse(read_text(dir + "/summary.json"));
  const auto val = evaluations(dir, "val"), test = evaluations(dir, "test");
  CHECK(val.size() == 4);
  REQUIRE(test.size() == 1);
  CHECK(test[0]["step"] == 4);
  const int64_t best = summary["best"]["step"];
  REQUIRE(best < 4);
  CHECK(summary["test"]["weights_step"] == best);
  CHECK(test[0]["eval_loss"] == summary["test"]["loss"]);
  CHECK(summary["test"]["targets"] == 16);  // train.eval_batches=2 batches of 8 test reviews
  CHECK(summary["eval"]["loss"] == val.back()["eval_loss"]);  // "eval" stays the validation split

  // ptm eval of checkpoints/best on the test split gives the same figures; the final weights do not.
  const auto e = run_ptm("eval --from " + dir + "/checkpoints/best --split test --batches 2 --out " + tmp.file("best.json"));
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  const auto best_eval = nlohmann::json::parse(read_text(tmp.file("best.json")));
  CHECK(best_eval["split"] == "test");
  CHECK(best_eval["loss"].get<double>() == Approx(summary["test"]["loss"].get<double>()).epsilon(1e-6));
  const auto f = run_ptm("eval --from " + dir + " --split test --batches 2 --out " + tmp.file("final.json"));
  REQUIRE(f.exit_code == 0);
  const auto final_eval = nlohmann::json::parse(read_text(tmp.file("final.json")));
  CHECK(final_eval["loss"].get<double>() != Approx(summary["test"]["loss"].get<double>()).epsilon(1e-6));
}

TEST_CASE("early stopping ends a fine-tuning run whose metric stops improving", "[integration][finetune]") {
  ptm::test::TempDir tmp;
  const std::string dir = tmp.file("run");
  // A learning rate too small to change predictions: accuracy never improves after the first evaluation.
  const auto r = run_ptm(quick(dir) + " train.max_steps=20 train.eval_every=1 train.early_stopping_patience=2"
                                      " optimizer.lr=1e-12 freeze.backbone=true");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto summary = nlohmann::json::parse(read_text(dir + "/summary.json"));
  CHECK(summary["early_stopped"] == true);
  CHECK(summary["steps"] == 3);
  CHECK(summary["best"]["step"] == 1);
  CHECK(contains(read_text(dir + "/log.txt"), "early stopping"));
}

TEST_CASE("freeze and best_metric typos are refused before training", "[integration][finetune]") {
  ptm::test::TempDir tmp;
  auto r = run_ptm(quick(tmp.file("a")) + " freeze.patterns=[attention.slef]");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "freeze.patterns: 'attention.slef' matches no parameter"));
  r = run_ptm(quick(tmp.file("b")) + " freeze.first_layer=2");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "freeze.first_layer: unknown key (did you mean first_layers?)"));
  r = run_ptm(quick(tmp.file("c")) + " train.best_metric=acuracy");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "train.best_metric: 'acuracy' is not among the evaluation metrics"));
}
