// `ptm distill` end to end, kept to seconds: a 1-step MiniLM fine-tune is the teacher of a
// 2-step compact-BERT student (logit KD + hidden states + MiniLM relations; then logit KD with
// the teacher cache), and a bad teacher path stops with exit code 2 naming the key.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "ptm/models/safetensors.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

namespace {

const char* kQuick =
    " train.batch_size=8 data.max_length=32 train.eval_every=0 train.eval_batches=1 train.save_every=0"
    " train.log_every=1";

void require_data() {
  const std::string data = ptm::test::data_dir();
  if (!fs::exists(data + "/models/minilm/model.safetensors") || !fs::exists(data + "/reviews/train.tsv"))
    FAIL("missing " << data << "/models/minilm or reviews: run scripts/get-data.sh");
}

}  // namespace

TEST_CASE("ptm distill refuses a bad teacher path with exit code 2 naming the key", "[integration][distill]") {
  ptm::test::TempDir tmp;
  const auto r = run_ptm("distill --config recipes/distill/minilm_to_bert_l2_kd.yaml --run-dir " + tmp.file("run") +
                         " objective.teacher.checkpoint=" + tmp.file("no_such_run"));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "objective.teacher.checkpoint"));
  CHECK_FALSE(fs::exists(tmp.file("run/checkpoints")));
  const auto v = run_ptm("validate --config recipes/distill/minilm_to_bert_l2_kd_relation.yaml objective.alpah=1");
  CHECK(v.exit_code == 2);
  CHECK(contains(v.err, "objective.alpah: unknown key (did you mean alpha?)"));
}

TEST_CASE("a short ptm distill run trains a compact student from a fine-tuned MiniLM teacher",
          "[integration][distill]") {
  require_data();
  ptm::test::TempDir tmp;
  const std::string teacher = tmp.file("teacher"), student = tmp.file("student");
  const auto t = run_ptm("finetune --config recipes/finetune/minilm_sentiment.yaml --run-dir " + teacher +
                         " train.max_steps=1" + kQuick);
  INFO(t.err);
  REQUIRE(t.exit_code == 0);

  const auto r = run_ptm("distill --config recipes/distill/minilm_to_bert_l2_kd_relation.yaml --run-dir " + student +
                         " objective.teacher.checkpoint=" + teacher + " objective.hidden_weight=1.0 train.max_steps=2" +
                         kQuick);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto summary = nlohmann::json::parse(read_text(student + "/summary.json"));
  for (const char* k : {"loss", "kd", "ce", "hidden", "attention", "value", "accuracy", "macro_f1", "agreement",
                        "teacher_accuracy"})
    CHECK(summary["eval"].contains(k));
  CHECK(summary["eval"]["attention"].get<double>() > 0);
  CHECK(summary["trainable_parameters"].get<int64_t>() < 5000000);  // the student, not the teacher
  CHECK(read_text(student + "/config.yaml").find("type: distill") != std::string::npos);
  // The learned 128 -> 384 projections of the hidden-state loss are checkpointed with the student.
  const auto objective = ptm::models::load_safetensors(student + "/checkpoints/step_00000002/objective.safetensors");
  REQUIRE(objective.size() == 4);
  CHECK(objective[0].second.sizes() == torch::IntArrayRef({384, 128}));

  // Logit KD with the teacher cache: the file holds one row per example the teacher saw.
  const auto c = run_ptm("distill --config recipes/distill/minilm_to_bert_l2_kd.yaml --run-dir " + tmp.file("kd") +
                         " objective.teacher.checkpoint=" + teacher + " objective.cache=" + tmp.file("cache.st") +
                         " train.max_steps=2" + kQuick);
  INFO(c.err);
  REQUIRE(c.exit_code == 0);
  const auto cached = ptm::models::load_safetensors(tmp.file("cache.st"));
  REQUIRE(cached.size() == 2);
  CHECK(cached[0].second.size(0) >= 8);
  const auto again = [&](const std::string& dir) {
    const auto k = run_ptm("distill --config recipes/distill/minilm_to_bert_l2_kd.yaml --run-dir " + tmp.file(dir) +
                           " objective.teacher.checkpoint=" + teacher + " objective.cache=" + tmp.file("cache.st") +
                           " train.max_steps=1" + kQuick);
    INFO(k.err);
    REQUIRE(k.exit_code == 0);
    return read_text(tmp.file(dir + "/log.txt"));
  };
  CHECK_FALSE(contains(again("kd_same"), "written for another teacher"));  // the same teacher reuses it
  // A teacher retrained into the same folder has other weights: its stale logits are not reused.
  const auto t2 = run_ptm("finetune --config recipes/finetune/minilm_sentiment.yaml --run-dir " + teacher +
                          " --overwrite run.seed=7 train.max_steps=1" + kQuick);
  INFO(t2.err);
  REQUIRE(t2.exit_code == 0);
  CHECK(contains(again("kd_retrained"), "written for another teacher"));
}
