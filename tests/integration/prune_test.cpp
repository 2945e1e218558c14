// `ptm prune` end to end on a freshly trained small GPT: the run directory, the sparsity it
// reports against the weights it wrote, a structured prune that `ptm eval --from` reloads,
// and bad recipes refused with exit 2 before anything is written.
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "skip.h"
#include "ptm/models/elastic.h"
#include "ptm/models/safetensors.h"
#include "ptm/recipes/run_model.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

namespace {

const char* kRecipe = "prune --config tests/fixtures/recipes/prune_gpt_small.yaml";

// A trained GPT to prune (seconds).
std::string trained(const ptm::test::TempDir& tmp) {
  const std::string run = tmp.file("trained");
  REQUIRE(run_ptm("pretrain --config tests/fixtures/recipes/pretrain_gpt_small.yaml --run-dir " + run).exit_code == 0);
  return " init_from.checkpoint=" + run + "/checkpoints/latest";
}

}  // namespace

TEST_CASE("ptm prune zeroes exactly the share asked and writes a run that reloads", "[integration][compress]") {
  ptm::test::TempDir tmp;
  const std::string init = trained(tmp);
  for (const std::string variant : {"granularity=unstructured prune.criterion=wanda prune.scope=row",
                                    "granularity=nm prune.criterion=taylor ~prune.sparsity",
                                    "granularity=unstructured prune.criterion=random prune.scope=global"}) {
    INFO(variant);
    const std::string out = tmp.file("p");
    const auto r = run_ptm(std::string(kRecipe) + init + " --overwrite --run-dir " + out + " prune." + variant);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto summary = nlohmann::json::parse(read_text(out + "/summary.json"));
    CHECK(summary["target_sparsity"].get<double>() == 0.5);
    CHECK(summary["after"]["loss"].get<double>() != summary["before"]["loss"].get<double>());
    // Every c_fc weight (in the saved checkpoint) is half zeros (per tensor unless the threshold is
    // global); 2:4 puts 2 zeros in each group of 4.
    const auto w = ptm::models::load_safetensors(out + "/checkpoints/latest/model.safetensors");
    for (const auto& [name, t] : w) {
      if (name.find("mlp.c_fc.weight") == std::string::npos || contains(variant, "global")) continue;
      CHECK((t == 0).sum().item<int64_t>() * 2 == t.numel());
      if (variant.rfind("granularity=nm", 0) == 0)  // Conv1D [in, out]: groups run down the columns
        CHECK(torch::equal((t.t().reshape({-1, 4}) == 0).sum(1), torch::full({t.numel() / 4}, 2, torch::kLong)));
    }
    const auto e = run_ptm("eval --from " + out + " --batches 2");
    INFO(e.err);
    REQUIRE(e.exit_code == 0);
    CHECK(nlohmann::json::parse(e.out)["loss"].get<double>() ==
          Approx(summary["after"]["loss"].get<double>()).epsilon(1e-6));
  }
}

TEST_CASE("ptm prune removes heads and neurons into a smaller model that ptm eval reloads", "[integration][compress]") {
  ptm::test::TempDir tmp;
  const std::string init = trained(tmp);
  const std::string out = tmp.file("s");
  const auto r = run_ptm(std::string(kRecipe) + init + " --run-dir " + out +
                         " prune.granularity=structured ~prune.sparsity prune.structured.heads=0.5 "
                         "prune.structured.neurons=0.25");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto summary = nlohmann::json::parse(read_text(out + "/summary.json"));
  CHECK(summary["units"]["heads"] == nlohmann::json::array({1, 1}));
  CHECK(summary["units"]["neurons"] == nlohmann::json::array({96, 96}));
  // Per block: q, k, v rows and c_proj columns of one 16-wide head (+ biases), 32 neurons' rows and columns.
  const int64_t removed = 2 * ((3 * 16 * 32 + 3 * 16 + 16 * 32) + (32 * 32 + 32 + 32 * 32));
  CHECK(summary["parameters_before"].get<int64_t>() - summary["parameters"].get<int64_t>() == removed);
  const auto config = read_text(out + "/config.yaml");
  CHECK(contains(config, "layer_heads"));
  CHECK(contains(config, "head_size: 16"));
  const auto e = run_ptm("eval --from " + out + " --batches 2");
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  CHECK(nlohmann::json::parse(e.out)["loss"].get<double>() ==
        Approx(summary["after"]["loss"].get<double>()).epsilon(1e-6));
  // init_from takes the smaller model like any other (the run's config.yaml has its model: section;
  // its prune: section would prune while training, and structured pruning is ptm prune's).
  const auto t = run_ptm("pretrain --config " + out + "/config.yaml --run-dir " + tmp.file("t") +
                         " init_from.checkpoint=" + out + "/checkpoints/latest train.max_steps=2 ~prune");
  INFO(t.err);
  CHECK(t.exit_code == 0);
  CHECK(contains(read_text(tmp.file("t") + "/log.txt"), "init_from: weights loaded from"));
  // GPT-2 takes head_dim = n_embd / n_head: pruned heads cannot be exported, and the export says so.
  const auto x = run_ptm("export --format hf --from " + out + " --out " + tmp.file("hf"));
  CHECK(x.exit_code != 0);
  CHECK(contains(x.err, "pruned sizes"));
  CHECK(contains(x.err, "attention heads were pruned"));
  CHECK_FALSE(fs::exists(tmp.file("hf")));
}

TEST_CASE("ptm prune removes whole layers: the smaller model is the trained one with them skipped",
          "[integration][compress]") {
  ptm::test::TempDir tmp;
  const std::string trained_run = tmp.file("trained4");
  REQUIRE(run_ptm("pretrain --config tests/fixtures/recipes/pretrain_gpt_small.yaml model.n_layer=4 --run-dir " +
                  trained_run)
              .exit_code == 0);
  const auto original = ptm::recipes::load_run_model(trained_run);
  const auto ids = torch::randint(300, {2, 32}, torch::kInt64);
  for (const std::string criterion : {"block_influence", "angular", "random"}) {
    INFO(criterion);
    const std::string out = tmp.file("l_" + criterion);
    const auto r = run_ptm(std::string(kRecipe) + " init_from.checkpoint=" + trained_run +
                           "/checkpoints/latest model.n_layer=4 prune.granularity=layers ~prune.sparsity"
                           " prune.remove_layers=2 prune.criterion=" + criterion + " --run-dir " + out);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto summary = nlohmann::json::parse(read_text(out + "/summary.json"));
    const auto removed = summary["layers"]["removed"].get<std::vector<int64_t>>();
    const auto scores = summary["layers"]["scores"].get<std::vector<double>>();
    REQUIRE(removed.size() == 2);
    if (criterion == "block_influence") {  // the two lowest of the four layers' scores
      REQUIRE(scores.size() == 4);
      for (int64_t l = 0; l < 4; ++l)
        if (l != removed[0] && l != removed[1]) CHECK(scores[l] >= std::max(scores[removed[0]], scores[removed[1]]));
    }
    if (criterion == "angular") {  // one block of two consecutive layers, the closest of three
      REQUIRE(scores.size() == 3);
      CHECK(removed[1] == removed[0] + 1);
      CHECK(scores[removed[0]] == *std::min_element(scores.begin(), scores.end()));
    }
    CHECK(summary["calibration_batches"].get<int64_t>() == (criterion == "random" ? 0 : 2));
    // Two blocks of 4 x 32 x 32 attention + 8 x 32 x 32 MLP weights, their biases and 2 layer norms.
    const int64_t block = 12 * 32 * 32 + (3 * 32 + 32 + 4 * 32 + 32) + 4 * 32;
    CHECK(summary["parameters_before"].get<int64_t>() - summary["parameters"].get<int64_t>() == 2 * block);
    CHECK(contains(read_text(out + "/config.yaml"), "n_layer: 2"));
    // The pruned model of the run against the trained one with those layers skipped.
    const auto pruned = ptm::recipes::load_run_model(out);
    ptm::models::Subnet skip(4, ptm::models::SubnetLayer{2, 128});
    for (const auto l : removed) skip[static_cast<size_t>(l)] = {0, 0};
    ptm::models::set_subnet(*original.model, skip);
    torch::NoGradGuard no_grad;
    ptm::data::Batch b;
    b.input_ids = ids;
    original.model->eval();
    pruned.model->eval();
    const auto expected = original.model->forward(b).logits, got = pruned.model->forward(b).logits;
    REQUIRE(got.sizes() == expected.sizes());
    CHECK((got - expected).abs().max().item<double>() <= 1e-5);
    ptm::models::set_subnet(*original.model, {});
    const auto e = run_ptm("eval --from " + out + " --batches 2");
    INFO(e.err);
    REQUIRE(e.exit_code == 0);
    CHECK(nlohmann::json::parse(e.out)["loss"].get<double>() ==
          Approx(summary["after"]["loss"].get<double>()).epsilon(1e-6));
  }
  // Bad layer removals: exit 2 naming the key, nothing written.
  const std::string out = tmp.file("bad_layers");
  const std::string base = std::string(kRecipe) + " init_from.checkpoint=" + trained_run +
                           "/checkpoints/latest model.n_layer=4 prune.granularity=layers ~prune.sparsity --run-dir " +
                           out + " ";
  for (const auto& [args, key] : std::vector<std::pair<std::string, std::string>>{
           {"prune.remove_layers=4 prune.criterion=random", "prune.remove_layers"},
           {"prune.remove_layers=0 prune.criterion=random", "prune.remove_layers"},
           {"prune.criterion=random", "prune.remove_layers"},  // required
           {"prune.remove_layers=1", "prune.criterion"},  // the recipe's magnitude scores weights
           {"prune.remove_layers=1 prune.criterion=random prune.sparsity=0.5", "prune.sparsity"},
           {"prune.remove_layers=1 prune.criterion=angular ~data", "data"}}) {
    INFO(args);
    const auto r = run_ptm(base + args);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, key));
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("ptm prune removes ViT heads and neurons on images into a smaller ViT that ptm eval reloads",
          "[integration][compress][vit]") {
  if (!fs::exists(ptm::test::data_dir() + "/fashion-mnist/train-images-idx3-ubyte"))
    PTM_SKIP("no Fashion-MNIST in data/ (bash scripts/get-data.sh fashion-mnist)");
  ptm::test::TempDir tmp;
  auto r = run_ptm("pretrain --config tests/fixtures/recipes/supernet_vit_small.yaml ~supernet --run-dir " +
                   tmp.file("base"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string out = tmp.file("s");
  r = run_ptm("prune --config tests/fixtures/recipes/prune_vit_small.yaml init_from.checkpoint=" +
              tmp.file("base/checkpoints/latest") + " --run-dir " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto summary = nlohmann::json::parse(read_text(out + "/summary.json"));
  CHECK(summary["units"]["heads"] == nlohmann::json::array({2, 2, 2}));
  CHECK(summary["units"]["neurons"] == nlohmann::json::array({32, 32, 32}));
  // Per layer: q, k, v rows (+ biases) and output columns of two 8-wide heads, 32 neurons' rows and columns.
  const int64_t removed = 3 * ((3 * (16 * 32 + 16) + 32 * 16) + (32 * 32 + 32 + 32 * 32));
  CHECK(summary["parameters_before"].get<int64_t>() - summary["parameters"].get<int64_t>() == removed);
  CHECK(contains(read_text(out + "/config.yaml"), "layer_heads: [2, 2, 2]"));
  const auto e = run_ptm("eval --from " + out + " --batches 2");
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  CHECK(nlohmann::json::parse(e.out)["loss"].get<double>() ==
        Approx(summary["after"]["loss"].get<double>()).epsilon(1e-6));
}

TEST_CASE("a GPT with FFN neurons pruned alike in every layer exports to a folder transformers loads",
          "[integration][compress]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir tmp;
  const std::string init = trained(tmp);
  const std::string out = tmp.file("n");
  const auto r = run_ptm(std::string(kRecipe) + init + " --run-dir " + out +
                         " prune.granularity=structured ~prune.sparsity prune.structured.neurons=0.25");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto x = run_ptm("export --format hf --from " + out + " --out " + tmp.file("hf"));
  INFO(x.err);
  REQUIRE(x.exit_code == 0);
  const auto config = nlohmann::json::parse(read_text(tmp.file("hf/config.json")));
  CHECK(config["n_inner"] == 96);
  CHECK(config["n_head"] == 2);
  // transformers' logits for the folder against those of the pruned model of the ptm run.
  const auto ids = torch::randint(300, {2, 32}, torch::kInt64);
  ptm::models::save_safetensors(tmp.file("in.safetensors"), {{"input_ids", ids}});
  const std::string cmd = std::string("'") + ptm::test::python_exe() + "' '" + ptm::test::source_dir() +
                          "/tests/golden/gpt2_reference.py' check " + tmp.file("hf") + " " + tmp.file("in.safetensors") +
                          " " + tmp.file("out.safetensors");
  REQUIRE(WEXITSTATUS(std::system(cmd.c_str())) == 0);
  const auto reference = ptm::models::SafetensorsFile(tmp.file("out.safetensors")).tensor("logits");
  const auto run = ptm::recipes::load_run_model(out);
  torch::NoGradGuard no_grad;
  ptm::data::Batch b;
  b.input_ids = ids;
  const auto logits = run.model->forward(b).logits;
  REQUIRE(logits.sizes() == reference.sizes());
  CHECK((logits - reference).abs().max().item<double>() <= 1e-4);
}

TEST_CASE("ptm prune's recovery fine-tune keeps the pruned weights exactly zero", "[integration][compress]") {
  ptm::test::TempDir tmp;
  const std::string init = trained(tmp);
  const std::string out = tmp.file("r");
  const auto r = run_ptm(std::string(kRecipe) + init + " --run-dir " + out +
                         " prune.recover=true train.max_steps=4 optimizer.lr=0.01 optimizer.weight_decay=0.1");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto summary = nlohmann::json::parse(read_text(out + "/summary.json"));
  CHECK(summary["recovered"]["steps"].get<int64_t>() == 4);
  CHECK(summary["recovered"]["target_sparsity"].get<double>() == 0.5);
  CHECK(summary["recovered"]["eval"]["batches"] == summary["after"]["batches"]);  // comparable
  const auto pruned = ptm::models::load_safetensors(out + "/checkpoints/step_00000000/model.safetensors");
  const auto tuned = ptm::models::load_safetensors(out + "/checkpoints/step_00000004/model.safetensors");
  REQUIRE(pruned.size() == tuned.size());
  int64_t targets = 0;
  for (size_t i = 0; i < pruned.size(); ++i) {
    const auto& [name, before] = pruned[i];
    const auto& after = tuned[i].second;
    if (name.find(".h.") == std::string::npos || name.find("weight") == std::string::npos || before.dim() != 2)
      continue;
    ++targets;
    INFO(name);
    CHECK(torch::equal(before == 0, after == 0));  // the same positions, bit for bit
    CHECK_FALSE(torch::equal(before, after));      // while the kept weights trained
  }
  CHECK(targets == 8);
}

TEST_CASE("ptm prune refuses bad recipes with exit 2, naming the key, writing nothing", "[integration][compress]") {
  ptm::test::TempDir tmp;
  const std::string init = trained(tmp);
  const std::string out = tmp.file("bad");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"prune.sparsity=1", "prune.sparsity"},
      {"prune.sparsity=-0.1", "prune.sparsity"},
      {"prune.granularity=nm ~prune.sparsity prune.m=3", "prune.m"},
      {"prune.granularity=structured ~prune.sparsity prune.structured.channels=0.5", "prune.structured.channels"},
      {"prune.granularity=structured ~prune.sparsity prune.scope=global prune.structured.heads=0.75",
       "would remove every head"},
      {"prune.criterion=wanda ~data", "data"},
      {"prune.criterion=sparsegpt", "prune.criterion"},
      {"prune.targets=[nothing]", "prune.targets"},
      {"~init_from", "init_from"},
      {"prune.recover=true ~data", "prune.recover"},
      {"prune.start_step=3", "prune.start_step"},  // ptm prune prunes once: no schedule
      {"prune.every=5", "prune.every"},
      {"prune.rounds=2 prune.round_steps=5", "prune.rounds"},  // nor rounds
  };
  for (const auto& [args, key] : cases) {
    INFO(args);
    const auto r = run_ptm(std::string(kRecipe) + init + " --run-dir " + out + " " + args);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, key));
    CHECK_FALSE(fs::exists(out));
  }
}
