// `ptm prune` with granularity low_rank end to end: the FFN Linears of a trained GPT and BERT
// become two smaller Linears; the run's config.yaml records their ranks (model.low_rank), so
// ptm eval, a fine-tune from init_from and ptm bench rebuild the factorised model; a Hugging
// Face export is refused; bad ranks and energies exit 2 naming the key, writing nothing.
#include <cmath>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/sha256.h"
#include "ptm/models/safetensors.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

namespace {

const char* kGpt = "prune --config tests/fixtures/recipes/prune_gpt_small.yaml prune.granularity=low_rank "
                   "prune.criterion=svd ~prune.sparsity";

std::string trained(const ptm::test::TempDir& tmp, const std::string& args) {
  const std::string run = tmp.file("trained");
  const auto r = run_ptm(args + " --run-dir " + run);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return " init_from.checkpoint=" + run + "/checkpoints/latest";
}

nlohmann::json json_file(const std::string& path) { return nlohmann::json::parse(read_text(path)); }

// ptm eval --from `run` gives the loss ptm prune measured after factorising.
void reloads(const std::string& run, const nlohmann::json& summary) {
  const auto e = run_ptm("eval --from " + run + " --batches 2");
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  CHECK(nlohmann::json::parse(e.out)["loss"].get<double>() ==
        Approx(summary["after"]["loss"].get<double>()).epsilon(1e-6));
}

}  // namespace

TEST_CASE("ptm prune factorises a GPT's FFN by rank into a smaller model that ptm reloads", "[integration][compress]") {
  ptm::test::TempDir tmp;
  const std::string init = trained(tmp, "pretrain --config tests/fixtures/recipes/pretrain_gpt_small.yaml");
  const std::string out = tmp.file("lr");
  const auto r = run_ptm(std::string(kGpt) + init + " prune.rank=8 --run-dir " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto summary = json_file(out + "/summary.json");
  // c_fc [128, 32] and c_proj [32, 128] of two blocks: 128 x 32 weights each become 8 x (32 + 128).
  CHECK(summary["low_rank"]["factorised"].get<int64_t>() == 4);
  CHECK(summary["parameters_before"].get<int64_t>() - summary["parameters"].get<int64_t>() ==
        4 * (128 * 32 - 8 * (32 + 128)));
  CHECK(summary["after"]["loss"].get<double>() != summary["before"]["loss"].get<double>());
  const auto report = json_file(out + "/sparsity.json");
  REQUIRE(report["low_rank"]["layers"].size() == 4);
  CHECK(report["low_rank"]["layers"][0]["name"] == "transformer.h.0.mlp.c_fc");
  CHECK(report["low_rank"]["layers"][0]["rank"] == 8);
  const auto config = read_text(out + "/config.yaml");
  CHECK(contains(config, "low_rank:"));
  CHECK(contains(config, "transformer.h.1.mlp.c_proj: 8"));
  std::map<std::string, torch::Tensor> w;
  for (const auto& [name, t] : ptm::models::load_safetensors(out + "/checkpoints/latest/model.safetensors")) w[name] = t;
  REQUIRE(w.count("transformer.h.0.mlp.c_fc.v.weight"));
  CHECK(w.at("transformer.h.0.mlp.c_fc.v.weight").sizes() == torch::IntArrayRef({8, 32}));
  CHECK(w.at("transformer.h.0.mlp.c_fc.u.weight").sizes() == torch::IntArrayRef({128, 8}));
  CHECK(w.count("transformer.h.0.mlp.c_fc.u.bias"));
  CHECK_FALSE(w.count("transformer.h.0.mlp.c_fc.weight"));
  reloads(out, summary);
  // init_from and ptm bench build the factorised model from the config.
  const auto t = run_ptm("pretrain --config " + out + "/config.yaml --run-dir " + tmp.file("t") +
                         " init_from.checkpoint=" + out + "/checkpoints/latest train.max_steps=2 ~prune");
  INFO(t.err);
  CHECK(t.exit_code == 0);
  CHECK(contains(read_text(tmp.file("t") + "/log.txt"), "init_from: weights loaded from"));
  const auto b = run_ptm("bench --config " + out + "/config.yaml ~prune --mode infer --device cpu --batch 1 --seq 16 "
                         "--warmup 0 --iters 1 --json -");
  INFO(b.err);
  CHECK(b.exit_code == 0);
  // transformers has no two-factor Linear: the export says so and writes nothing.
  const auto x = run_ptm("export --format hf --from " + out + " --out " + tmp.file("hf"));
  CHECK(x.exit_code == 2);
  CHECK(contains(x.err, "model.low_rank"));
  CHECK(contains(x.err, "factorised"));
  CHECK_FALSE(fs::exists(tmp.file("hf")));
  CHECK_FALSE(fs::exists(tmp.file("hf") + ".partial"));
}

TEST_CASE("ptm prune factorises a BERT's FFN by kept energy, per layer", "[integration][compress][bert]") {
  ptm::test::TempDir tmp;
  const std::string init = trained(tmp, "finetune --config tests/fixtures/recipes/finetune_bert_small.yaml");
  const std::string out = tmp.file("lr");
  const auto r = run_ptm("prune --config tests/fixtures/recipes/prune_bert_small.yaml" + init +
                         " prune.granularity=low_rank prune.criterion=svd ~prune.structured ~prune.scope prune.energy=0.5 --run-dir " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto report = json_file(out + "/sparsity.json");
  REQUIRE(report["low_rank"]["layers"].size() == 6);  // intermediate.dense and output.dense of 3 layers
  int64_t saved = 0;
  for (const auto& l : report["low_rank"]["layers"]) {
    INFO(l.dump());
    CHECK(l["energy"].get<double>() >= 0.5);
    const int64_t rank = l["rank"];
    CHECK(rank >= 1);
    CHECK(rank <= 32);
    if (l["form"] == "factorised") saved += 64 * 32 - rank * 96;
  }
  const auto summary = json_file(out + "/summary.json");
  CHECK(summary["parameters_before"].get<int64_t>() - summary["parameters"].get<int64_t>() == saved);
  CHECK(saved > 0);
  reloads(out, summary);
  const auto t = run_ptm("finetune --config " + out + "/config.yaml --run-dir " + tmp.file("t") +
                         " init_from.checkpoint=" + out + "/checkpoints/latest train.max_steps=2 ~prune");
  INFO(t.err);
  CHECK(t.exit_code == 0);
}

TEST_CASE("ptm prune low_rank refuses bad ranks and energies with exit 2, naming the key", "[integration][compress]") {
  ptm::test::TempDir tmp;
  const std::string init = trained(tmp, "pretrain --config tests/fixtures/recipes/pretrain_gpt_small.yaml");
  const std::string out = tmp.file("bad");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"prune.rank=0", "prune.rank"},
      {"prune.rank=33", "prune.rank"},  // min(in, out) of the [128, 32] c_fc is 32
      {"prune.energy=0", "prune.energy"},
      {"prune.energy=1.5", "prune.energy"},
      {"prune.energy=-0.2", "prune.energy"},
      {"prune.rank=4 prune.energy=0.9", "prune.energy"},
      {"", "prune.rank"},                          // neither
      {"prune.rank=4 prune.criterion=magnitude", "prune.criterion"},
      {"prune.rank=4 prune.targets=[nothing]", "prune.targets"},
      {"prune.rank=4 prune.nuclear=0.001", "prune.nuclear"},  // TRP is for training runs
      {"prune.rank=4 model.low_rank.transformer.h.0.mlp.c_fc=0", "model.low_rank"},
  };
  for (const auto& [args, key] : cases) {
    INFO(args);
    const auto r = run_ptm(std::string(kGpt) + init + " --run-dir " + out + " " + args);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, key));
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("TRP training leaves weights of lower rank than plain training, which factorise at no loss",
          "[integration][compress]") {
  // Measured: the effective rank of each FFN weight (singular values needed for 99% of the
  // squared ones) after 8 steps with and without TRP, and the loss change when ptm prune then
  // factorises each model keeping all but 1e-5 of the energy.
  ptm::test::TempDir tmp;
  const std::string pretrain = "pretrain --config tests/fixtures/recipes/pretrain_gpt_small.yaml";
  const std::string plain = tmp.file("plain"), trp = tmp.file("trp");
  REQUIRE(run_ptm(pretrain + " --run-dir " + plain).exit_code == 0);
  const auto t = run_ptm(pretrain + " --run-dir " + trp +
                         " prune.granularity=low_rank prune.criterion=svd prune.energy=0.9 prune.every=2 "
                         "prune.nuclear=0.01");
  INFO(t.err);
  REQUIRE(t.exit_code == 0);
  const auto trp_summary = json_file(trp + "/summary.json");
  REQUIRE(trp_summary["low_rank"]["ranks"].size() == 4);
  CHECK(contains(read_text(trp + "/metrics.jsonl"), "trp_mean_rank"));
  const auto effective = [](const std::string& run) {
    int64_t total = 0;
    for (const auto& [name, w] : ptm::models::load_safetensors(run + "/checkpoints/latest/model.safetensors")) {
      if (name.find("mlp.c_") == std::string::npos || name.find(".weight") == std::string::npos) continue;
      const auto sq = torch::linalg_svdvals(w.to(torch::kDouble)).square();
      const auto cum = sq.cumsum(0) / sq.sum();
      total += (cum < 0.99).sum().item<int64_t>() + 1;
    }
    return total;
  };
  const int64_t rank_plain = effective(plain), rank_trp = effective(trp);
  INFO("effective ranks: plain " << rank_plain << ", TRP " << rank_trp);
  CHECK(rank_trp < rank_plain);
  int64_t saved_trp = 0, saved_plain = 0;
  for (const auto& [run, saved] : {std::pair<std::string, int64_t*>{trp, &saved_trp}, {plain, &saved_plain}}) {
    const std::string out = run + "_svd";
    const auto r = run_ptm(std::string(kGpt) + " init_from.checkpoint=" + run + "/checkpoints/latest prune.energy=0.99999 --run-dir " + out);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto s = json_file(out + "/summary.json");
    *saved = s["parameters_before"].get<int64_t>() - s["parameters"].get<int64_t>();
    if (run == trp)  // already of rank r: the factorisation changes nothing
      CHECK(std::abs(s["after"]["loss"].get<double>() - s["before"]["loss"].get<double>()) < 1e-4);
  }
  INFO("parameters saved: plain " << saved_plain << ", TRP " << saved_trp);
  CHECK(saved_trp > saved_plain);
  CHECK(saved_trp > 0);
}

TEST_CASE("a TRP run stopped between truncations resumes bit for bit", "[integration][compress]") {
  ptm::test::TempDir tmp;
  // Truncations after steps 3, 6 and 8; the sub-gradients come from each step's weights.
  const std::string run =
      "pretrain --config tests/fixtures/recipes/pretrain_gpt_small.yaml train.save_every=4 prune.granularity=low_rank "
      "prune.criterion=svd prune.energy=0.9 prune.every=3 prune.nuclear=0.01 --run-dir ";
  REQUIRE(run_ptm(run + tmp.file("a")).exit_code == 0);
  REQUIRE(run_ptm(run + tmp.file("b")).exit_code == 0);
  fs::remove_all(tmp.file("b/checkpoints/step_00000008"));
  fs::remove(tmp.file("b/summary.json"));
  const auto r = run_ptm(run + tmp.file("b"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(read_text(tmp.file("b/log.txt")), "at step 4"));
  for (const char* f : {"model.safetensors", "optimizer.safetensors", "trp.safetensors"})
    CHECK(ptm::sha256_file(tmp.file(std::string("a/checkpoints/step_00000008/") + f)) ==
          ptm::sha256_file(tmp.file(std::string("b/checkpoints/step_00000008/") + f)));
  CHECK(json_file(tmp.file("a/summary.json"))["low_rank"] == json_file(tmp.file("b/summary.json"))["low_rank"]);
}
