// `ptm export` and `ptm eval` on a freshly trained GPT: transformers loads the export and
// gives the same logits as ptm; evaluation reproduces the run's own final evaluation.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "ptm/models/gpt.h"
#include "ptm/models/safetensors.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

TEST_CASE("ptm export writes a folder transformers loads with ptm's logits", "[integration][models]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir tmp;
  const std::string run = tmp.file("run");
  REQUIRE(run_ptm("pretrain --config tests/fixtures/recipes/pretrain_gpt_small.yaml --run-dir " + run).exit_code == 0);
  auto r = run_ptm("export --format hf --from " + run + " --out " + tmp.file("hf"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(fs::exists(tmp.file("hf/config.json")));
  CHECK(contains(read_text(tmp.file("hf/config.json")), "\"model_type\": \"gpt2\""));

  const auto ids = torch::randint(300, {2, 32}, torch::kInt64);
  ptm::models::save_safetensors(tmp.file("in.safetensors"), {{"input_ids", ids}});
  const std::string cmd = std::string("'") + ptm::test::python_exe() + "' '" + ptm::test::source_dir() +
                          "/tests/golden/gpt2_reference.py' check " + tmp.file("hf") + " " + tmp.file("in.safetensors") +
                          " " + tmp.file("out.safetensors");
  REQUIRE(WEXITSTATUS(std::system(cmd.c_str())) == 0);
  const auto reference = ptm::models::SafetensorsFile(tmp.file("out.safetensors")).tensor("logits");
  auto model = ptm::models::load_hf_gpt(tmp.file("hf"));
  torch::NoGradGuard no_grad;
  ptm::data::Batch b;
  b.input_ids = ids;
  const auto logits = model->forward(b).logits;
  CHECK((logits - reference).abs().max().item<double>() <= 1e-4);

  r = run_ptm("export --format hf --from " + run + " --out " + tmp.file("hf"));
  CHECK(r.exit_code == 2);  // exists
  CHECK(contains(r.err, "pass --overwrite"));
  r = run_ptm("export --format hf --from " + tmp.path() + " --out " + tmp.file("x"));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "holds no complete checkpoint"));
}

TEST_CASE("ptm eval reproduces the run's final evaluation", "[integration][models]") {
  ptm::test::TempDir tmp;
  const std::string run = tmp.file("run");
  REQUIRE(run_ptm("pretrain --config tests/fixtures/recipes/pretrain_gpt_small.yaml --run-dir " + run).exit_code == 0);
  const auto summary = nlohmann::json::parse(read_text(run + "/summary.json"));
  const auto r = run_ptm("eval --from " + run + "/checkpoints/latest --batches 2");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto result = nlohmann::json::parse(r.out);
  CHECK(result["loss"].get<double>() == Approx(summary["eval"]["loss"].get<double>()).epsilon(1e-6));
  CHECK(result["perplexity"].get<double>() > 1.0);
  CHECK(fs::exists(run + "/eval.json"));
}

TEST_CASE("init_from starts a new run from another run's weights", "[integration][models]") {
  ptm::test::TempDir tmp;
  const std::string a = tmp.file("a"), b = tmp.file("b");
  REQUIRE(run_ptm("pretrain --config tests/fixtures/recipes/pretrain_gpt_small.yaml --run-dir " + a).exit_code == 0);
  // One step with a vanishing learning rate: b's weights must be a's.
  auto r = run_ptm("pretrain --config tests/fixtures/recipes/pretrain_gpt_small.yaml --run-dir " + b +
                   " init_from.checkpoint=" + a + "/checkpoints/latest train.max_steps=1 optimizer.lr=1e-30");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(read_text(b + "/log.txt"), "init_from: weights loaded from"));
  const auto wa = ptm::models::load_safetensors(a + "/checkpoints/latest/model.safetensors");
  const auto wb = ptm::models::load_safetensors(b + "/checkpoints/latest/model.safetensors");
  REQUIRE(wa.size() == wb.size());
  for (size_t i = 0; i < wa.size(); ++i) CHECK(torch::allclose(wa[i].second, wb[i].second, 0, 1e-12));

  r = run_ptm("pretrain --config tests/fixtures/recipes/pretrain_gpt_small.yaml --run-dir " + tmp.file("c") +
              " init_from.checkpoint=" + a + "/checkpoints/latest model.n_embd=64");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "does not fit the model"));
  CHECK(contains(r.err, "shape mismatch: transformer.wte.weight"));
  r = run_ptm("validate --config tests/fixtures/recipes/pretrain_gpt_small.yaml init_from.hf=nowhere");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "init_from.hf: 'nowhere' does not exist"));
}
