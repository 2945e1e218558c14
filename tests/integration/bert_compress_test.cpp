// Structured pruning and elastic super-networks of BERT end to end: `ptm prune` removes heads
// and neurons into a smaller BERT that ptm reloads and fine-tunes; a pruned MiniLM with uniform
// sizes exports to Hugging Face with ptm's logits, while shapes BertConfig cannot hold are
// refused with exit 2; a `supernet:` fine-tune, `ptm nas search` and `ptm nas export` run on BERT.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "ptm/models/safetensors.h"
#include "ptm/recipes/run_model.h"
#include "unit/models/bert_test_util.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;
namespace bt = ptm::test::bert;

namespace {

const std::string kFinetune = "finetune --config tests/fixtures/recipes/finetune_bert_small.yaml";

// A fine-tuned tiny BERT classifier (seconds); returns its init_from override.
std::string trained(const ptm::test::TempDir& tmp, const std::string& args = kFinetune) {
  const std::string run = tmp.file("trained");
  const auto r = run_ptm(args + " --run-dir " + run);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return " init_from.checkpoint=" + run + "/checkpoints/latest";
}

nlohmann::json json_file(const std::string& path) { return nlohmann::json::parse(read_text(path)); }

}  // namespace

TEST_CASE("ptm prune removes BERT heads and neurons into a smaller model that ptm reloads", "[integration][compress][bert]") {
  ptm::test::TempDir tmp;
  const std::string init = trained(tmp);
  const std::string out = tmp.file("p");
  const auto r = run_ptm("prune --config tests/fixtures/recipes/prune_bert_small.yaml" + init + " --run-dir " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto summary = json_file(out + "/summary.json");
  CHECK(summary["units"]["heads"] == nlohmann::json::array({2, 2, 2}));
  CHECK(summary["units"]["neurons"] == nlohmann::json::array({48, 48, 48}));
  // Per layer: q, k, v rows (+ biases) and attention.output columns of two 8-wide heads;
  // intermediate rows (+ biases) and output columns of 16 neurons.
  const int64_t removed = 3 * ((3 * (16 * 32 + 16) + 32 * 16) + (16 * 32 + 16 + 32 * 16));
  CHECK(summary["parameters_before"].get<int64_t>() - summary["parameters"].get<int64_t>() == removed);
  const auto config = read_text(out + "/config.yaml");
  CHECK(contains(config, "layer_heads"));
  CHECK(contains(config, "layer_inner"));
  CHECK(contains(config, "head_size: 8"));
  const auto e = run_ptm("eval --from " + out + " --batches 2");
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  CHECK(nlohmann::json::parse(e.out)["loss"].get<double>() ==
        Approx(summary["after"]["loss"].get<double>()).epsilon(1e-6));
  // init_from takes the smaller model like any other.
  const auto t = run_ptm("finetune --config " + out + "/config.yaml --run-dir " + tmp.file("t") +
                         " init_from.checkpoint=" + out + "/checkpoints/latest train.max_steps=2 ~prune");
  INFO(t.err);
  CHECK(t.exit_code == 0);
  CHECK(contains(read_text(tmp.file("t") + "/log.txt"), "init_from: weights loaded from"));
  // Half the heads: BertConfig sizes heads as hidden_size / heads, so the export says why not.
  const auto x = run_ptm("export --format hf --from " + out + " --out " + tmp.file("hf"));
  CHECK(x.exit_code == 2);
  CHECK(contains(x.err, "model.layer_heads"));
  CHECK(contains(x.err, "removed heads cannot be expressed"));
  CHECK_FALSE(fs::exists(tmp.file("hf")));
}

TEST_CASE("BERT per-layer sizes in a recipe are checked, naming the key", "[integration][bert]") {
  ptm::test::TempDir tmp;
  for (const auto& [args, key] : std::vector<std::pair<std::string, std::string>>{
           {"model.layer_heads=[4,4]", "model.layer_heads: needs one entry per layer"},
           {"model.layer_inner=[64,0,64]", "model.layer_inner: entries must be >= 1"},
           {"model.head_size=wide", "model.head_size"}}) {
    INFO(args);
    const auto r = run_ptm(kFinetune + " --run-dir " + tmp.file("bad") + " " + args);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, key));
    CHECK_FALSE(fs::exists(tmp.file("bad")));
  }
}

TEST_CASE("a MiniLM with half its FFN neurons pruned exports to transformers with ptm's logits", "[integration][compress][bert]") {
  bt::data_path("models/minilm/model.safetensors");
  ptm::test::TempDir tmp;
  const std::string out = tmp.file("p");
  const auto r = run_ptm("prune --config tests/fixtures/recipes/prune_minilm_neurons.yaml --run-dir " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(json_file(out + "/summary.json")["units"]["neurons"] == nlohmann::json::array({768, 768, 768, 768, 768, 768}));
  const auto x = run_ptm("export --format hf --from " + out + " --out " + tmp.file("hf"));
  INFO(x.err);
  REQUIRE(x.exit_code == 0);
  const auto config = json_file(tmp.file("hf/config.json"));
  CHECK(config["intermediate_size"] == 768);
  CHECK(config["num_attention_heads"] == 12);
  CHECK(config["num_hidden_layers"] == 6);

  const auto batch = bt::random_batch({12, 9, 5}, 12, 30522, 0, 11);
  ptm::models::save_safetensors(tmp.file("in.safetensors"), {{"input_ids", batch.input_ids},
                                                             {"attention_mask", batch.attention_mask},
                                                             {"token_type_ids", batch.token_type_ids}});
  bt::reference("run " + bt::quoted(tmp.file("in.safetensors")) + " " + bt::quoted(tmp.file("hf")));
  const auto hf = bt::load_map(tmp.file("hf/hf_outputs.safetensors"));
  const auto run = ptm::recipes::load_run_model(out);
  torch::NoGradGuard no_grad;
  const auto logits = run.model->forward(batch).logits;
  CHECK(bt::max_diff(logits, hf.at("logits")) <= 1e-4);
  CHECK(hf.at("num_parameters").item<int64_t>() == ptm::models::count_parameters(*run.model));
}

TEST_CASE("a BERT super-network fine-tunes, is searched and exports a smaller BERT", "[integration][nas][bert]") {
  ptm::test::TempDir tmp;
  const std::string init = trained(tmp, "finetune --config tests/fixtures/recipes/supernet_bert_small.yaml");
  CHECK(contains(read_text(tmp.file("trained/log.txt")), "supernet: heads and neurons sorted by magnitude_l2"));
  const auto s = run_ptm("nas search --config tests/fixtures/recipes/nas_bert_small.yaml" + init + " --run-dir " +
                         tmp.file("s"));
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  const auto points = json_file(tmp.file("s/points.json"));
  REQUIRE(!points["front"].empty());
  // The smallest front point, exported: its size and loss are what the search measured.
  const auto e = run_ptm("nas export --from " + tmp.file("s") + " --pick 0 --out " + tmp.file("x"));
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  const auto summary = nlohmann::json::parse(e.out);
  const auto& point = summary["search_point"];
  int64_t stored = 0;
  for (const auto& [name, t] : ptm::models::load_safetensors(tmp.file("x/checkpoints/latest/model.safetensors")))
    stored += t.numel();
  CHECK(stored == point["objectives"]["params"].get<int64_t>());
  CHECK(contains(read_text(tmp.file("x/config.yaml")), "layer_inner"));
  const auto ev = run_ptm("eval --from " + tmp.file("x") + " --batches 2");
  INFO(ev.err);
  REQUIRE(ev.exit_code == 0);
  CHECK(nlohmann::json::parse(ev.out)["loss"].get<double>() ==
        Approx(point["objectives"]["loss"].get<double>()).epsilon(1e-5));
  // A genome by hand, and one the model cannot run.
  CHECK(run_ptm("nas export --from " + tmp.file("s") + " --genome 2/16,-,4/64 --out " + tmp.file("y")).exit_code == 0);
  const auto bad = run_ptm("nas export --from " + tmp.file("s") + " --genome 8/16,-,4/64 --out " + tmp.file("z"));
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.err, "heads must lie in [1, 4], got 8"));
}
