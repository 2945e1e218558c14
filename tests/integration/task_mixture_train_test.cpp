// `ptm finetune` of the real MiniLM on a task mixture of two review sets (two row ranges of
// the fine-food reviews, one label set): per-source example counts in metrics.jsonl in the
// recipe's shares, per-source evaluation metrics that agree with the predictions file, a run
// resumed after a crash bit-identical to an uninterrupted one, and the refusals of sources
// that disagree on the head or have bad weights, before any work.
#include <filesystem>
#include <fstream>
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

// Rows [first, first + n) of a TSV with a header, as a TSV of its own.
std::string rows_of(const ptm::test::TempDir& tmp, const std::string& name, const std::string& from, int first, int n) {
  std::istringstream in(read_text(from));
  std::string header, line, out;
  std::getline(in, header);
  out = header + "\n";
  for (int i = 0; std::getline(in, line) && i < first + n; ++i)
    if (i >= first) out += line + "\n";
  return tmp.write(name, out);
}

// A text_classification source as a YAML list item.
std::string source(const std::string& name, double weight, const std::string& train, const std::string& extra = "",
                   const std::string& tokenizer = "data/models/minilm/tokenizer.json") {
  std::ostringstream s;
  s << "    - {type: text_classification, name: " << name << ", weight: " << weight << ", train: " << train
    << ", val_fraction: 0.1, tokenizer: " << tokenizer << ", max_length: 32, pad_to: longest" << extra << "}\n";
  return s.str();
}

// A MiniLM sentiment recipe whose data is a task mixture of `sources` (YAML list items).
std::string recipe(const ptm::test::TempDir& tmp, const std::string& sources) {
  const std::string data = ptm::test::data_dir();
  if (!fs::exists(data + "/models/minilm/model.safetensors") || !fs::exists(data + "/reviews/train.tsv"))
    FAIL("missing " << data << "/models/minilm or reviews: run scripts/get-data.sh");
  return tmp.write("multitask.yaml", "base: [" + std::string(ptm::test::source_dir()) +
                                         "/configs/models/minilm_l6_h384.yaml]\n"
                                         "run: {name: multitask, seed: 42}\n"
                                         "model: {head: classification, num_labels: 2}\n"
                                         "init_from: {hf: data/models/minilm}\n"
                                         "objective: {type: classification}\n"
                                         "optimizer: {type: adamw, lr: 5.0e-5}\n"
                                         "data:\n  type: task_mixture\n  sources:\n" +
                                         sources);
}

// The records of metrics.jsonl: training ones by step (a step logged twice keeps its last), and
// the evaluations of `split`.
std::map<int64_t, nlohmann::json> records(const std::string& metrics_file, const std::string& split = "") {
  std::map<int64_t, nlohmann::json> out;
  std::istringstream in(read_text(metrics_file));
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.value("split", "") == split) out[j["step"].get<int64_t>()] = j;
  }
  return out;
}

}  // namespace

TEST_CASE("a task mixture fine-tunes in its shares, reports each source and resumes bit for bit",
          "[integration][finetune][mixture]") {
  ptm::test::TempDir tmp;
  const std::string reviews = ptm::test::data_dir() + "/reviews/";
  const auto early = rows_of(tmp, "early/train.tsv", reviews + "train.tsv", 0, 200);
  const auto late = rows_of(tmp, "late/train.tsv", reviews + "train.tsv", 2000, 200);
  const auto test = rows_of(tmp, "early/test.tsv", reviews + "test.tsv", 0, 24);
  const auto config = recipe(tmp, source("early", 3, early, ", test: " + test) + source("late", 1, late));
  const int64_t B = 8;
  const std::string args =
      " train.max_steps=6 train.save_every=3 train.log_every=1 train.eval_every=3"
      " train.eval_batches=100 train.batch_size=8";
  const auto run = [&](const std::string& dir) {
    return run_ptm("finetune --config " + config + " --run-dir " + tmp.file(dir) + args);
  };
  auto r = run("a");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(read_text(tmp.file("a/log.txt")), "data: task_mixture [train] of 2 sources: early (share 0.75"));
  const auto a = records(tmp.file("a/metrics.jsonl"));
  REQUIRE(a.size() == 6);
  for (const auto& [step, rec] : a) {
    INFO("step " << step);
    // Weights 3:1 of 8 examples a step: 6 and 2 in every batch.
    CHECK(rec.at("examples_seen_early").get<int64_t>() == 6 * step);
    CHECK(rec.at("examples_seen_late").get<int64_t>() == 2 * step);
    CHECK(rec.at("targets_seen").get<int64_t>() == B * step);
  }
  // Evaluations report the whole split and each source: 20 validation reviews each (10% of 200).
  const auto val = records(tmp.file("a/metrics.jsonl"), "val");
  REQUIRE(val.size() == 2);
  for (const auto& [step, rec] : val) {
    INFO("eval at step " << step);
    CHECK(rec.at("eval_early/targets") == 20);
    CHECK(rec.at("eval_late/targets") == 20);
    CHECK(rec.at("eval_targets") == 40);
    const double whole = rec.at("eval_accuracy").get<double>() * 40,
                 parts =
                     rec.at("eval_early/accuracy").get<double>() * 20 + rec.at("eval_late/accuracy").get<double>() * 20;
    CHECK(whole == Approx(parts).margin(1e-9));
    const double loss = rec.at("eval_loss").get<double>() * 40,
                 loss_parts = (rec.at("eval_early/loss").get<double>() + rec.at("eval_late/loss").get<double>()) * 20;
    CHECK(loss == Approx(loss_parts).epsilon(1e-6));
    for (const char* k : {"early/macro_f1", "late/mcc", "early/f1"}) CHECK(rec.contains(std::string("eval_") + k));
  }
  // The predictions file of the final evaluation names each row's source; its accuracy per
  // source is the one reported.
  std::map<std::string, std::pair<int, int>> hits;  // source: (correct, rows)
  std::ifstream in(tmp.file("a/predictions.jsonl"));
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    auto& h = hits[j.at("source").get<std::string>()];
    h.first += j["prediction"] == j["label"] ? 1 : 0;
    ++h.second;
  }
  REQUIRE(hits.size() == 2);
  for (const auto& [name, h] : hits) {
    INFO(name);
    CHECK(h.second == 20);
    CHECK(static_cast<double>(h.first) / 20 == Approx(val.at(6).at("eval_" + name + "/accuracy").get<double>()));
  }
  // Split "test": the source that has one.
  const auto tested = records(tmp.file("a/metrics.jsonl"), "test");
  REQUIRE(tested.size() == 1);
  CHECK(tested.begin()->second.at("eval_early/targets") == 24);
  CHECK_FALSE(tested.begin()->second.contains("eval_late/targets"));

  r = run("b");
  REQUIRE(r.exit_code == 0);
  // A crash after the step-3 checkpoint: a new process continues from it.
  fs::remove_all(tmp.file("b/checkpoints/step_00000006"));
  fs::remove(tmp.file("b/summary.json"));
  r = run("b");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(read_text(tmp.file("b/log.txt")), "resumed from " + tmp.file("b/checkpoints/step_00000003")));
  const auto b = records(tmp.file("b/metrics.jsonl"));
  REQUIRE(b.size() == 6);
  for (int64_t step = 4; step <= 6; ++step) {
    INFO("step " << step);
    CHECK(a.at(step)["loss"] == b.at(step)["loss"]);  // bit-identical, not close
    CHECK(a.at(step)["examples_seen_early"] == b.at(step)["examples_seen_early"]);
  }
  CHECK(records(tmp.file("b/metrics.jsonl"), "val").at(6)["eval_late/loss"] == val.at(6)["eval_late/loss"]);
  for (const char* f : {"model.safetensors", "optimizer.safetensors"})
    CHECK(ptm::sha256_file(tmp.file(std::string("a/checkpoints/step_00000006/") + f)) ==
          ptm::sha256_file(tmp.file(std::string("b/checkpoints/step_00000006/") + f)));
}

TEST_CASE("2 Gloo ranks draw a task mixture's examples and evaluate its sources as one process",
          "[integration][dist][mixture]") {
  ptm::test::TempDir tmp;
  const std::string reviews = ptm::test::data_dir() + "/reviews/";
  const auto early = rows_of(tmp, "early/train.tsv", reviews + "train.tsv", 0, 200);
  const auto late = rows_of(tmp, "late/train.tsv", reviews + "train.tsv", 2000, 150);
  const auto config = recipe(tmp, source("early", 3, early) + source("late", 1, late));
  // SGD and no dropout: the weights of any two summation orders stay within float noise.
  const auto run = [&](const std::string& dir, int batch) {
    return "finetune --config " + config + " --run-dir " + tmp.file(dir) +
           " optimizer.type=sgd optimizer.lr=0.3 model.hidden_dropout_prob=0 model.attention_probs_dropout_prob=0"
           " model.classifier_dropout=0 train.max_steps=4 train.log_every=2 train.eval_every=0 train.save_every=0"
           " train.eval_batches=100 train.batch_size=" +
           std::to_string(batch);
  };
  auto r = run_ptm(run("one", 8));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = run_ptm("launch --nproc 2 -- " + run("dp", 4));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto one = records(tmp.file("one/metrics.jsonl")), dp = records(tmp.file("dp/metrics.jsonl"));
  REQUIRE(dp.size() == 2);
  for (const int64_t step : {2, 4}) {
    INFO("step " << step);
    CHECK(dp.at(step)["examples_seen_early"] == one.at(step)["examples_seen_early"]);
    CHECK(dp.at(step)["examples_seen_late"] == one.at(step)["examples_seen_late"]);
    CHECK(dp.at(step)["loss"].get<double>() == Approx(one.at(step)["loss"].get<double>()).epsilon(1e-5));
  }
  // Each rank evaluates its share of each source; the sums are those of the whole split.
  const auto e1 = records(tmp.file("one/metrics.jsonl"), "val").at(4),
             e2 = records(tmp.file("dp/metrics.jsonl"), "val").at(4);
  for (const char* k : {"early/targets", "late/targets", "targets", "early/accuracy", "late/accuracy"})
    CHECK(e2.at(std::string("eval_") + k) == e1.at(std::string("eval_") + k));
  CHECK(e1.at("eval_late/targets") == 15);
  CHECK(e2.at("eval_late/loss").get<double>() == Approx(e1.at("eval_late/loss").get<double>()).epsilon(1e-5));
}

TEST_CASE("task mixture sources that disagree on the head, or bad weights, exit 2 naming the key",
          "[integration][finetune][mixture][messages]") {
  ptm::test::TempDir tmp;
  const std::string reviews = ptm::test::data_dir() + "/reviews/";
  const auto early = rows_of(tmp, "early/train.tsv", reviews + "train.tsv", 0, 200);
  // The same reviews labelled pos/neg: two classes, but not the head's two.
  std::string relabelled = read_text(early);
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"\tgreat\n", "\tpos\n"}, {"\tother\n", "\tneg\n"}})
    for (auto at = relabelled.find(from); at != std::string::npos; at = relabelled.find(from, at))
      relabelled.replace(at, from.size(), to);
  const auto posneg = tmp.write("posneg/train.tsv", relabelled);
  const auto check = [&](const std::string& sources, const std::string& message) {
    const auto config = recipe(tmp, sources);
    auto r = run_ptm("validate --config " + config);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, message));
    r = run_ptm("finetune --config " + config + " --run-dir " + tmp.file("run"));
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, message));
    CHECK_FALSE(fs::exists(tmp.file("run/checkpoints")));
  };
  check(source("early", 1, early) + source("relabelled", 1, posneg),
        "data.sources.1.labels: [neg, pos] (the sorted labels of its train file '" + posneg +
            "') differ from data.sources.0's [great, other]");
  check(source("early", 1, early) + source("vocab", 1, early, "", "data/models/minilm/vocab.txt"),
        "data.sources.1.tokenizer: 'data/models/minilm/vocab.txt' is not the tokenizer of data.sources.0 "
        "('data/models/minilm/tokenizer.json')");
  check(source("early", 1, early) +
            "    - {type: token_classification, train: tests/fixtures/conll/train.conll, "
            "tokenizer: data/models/minilm/tokenizer.json}\n",
        "data.sources.1.type: 'token_classification' differs from data.sources.0.type 'text_classification'");
  check(source("early", 0, early) + source("again", 0, early), "data.sources: the weights are all 0");
  check(source("early", 1, early) + source("again", -2, early), "data.sources.1.weight: must be >= 0, got -2");
}
