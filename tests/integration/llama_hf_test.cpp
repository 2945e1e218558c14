// The Llama example recipe on the repository's real data, end to end through Hugging Face:
// a few steps of recipes/pretrain/gpt_llama_tiny.yaml on Jane Austen, `ptm export` to a
// LlamaForCausalLM folder that transformers loads with ptm's logits, `ptm info --hf`,
// `ptm generate` from the run and from its export, a run
// whose model comes from config.json alone (init_from.hf without model:), and exit 2 naming
// config.json and the key for an architecture ptm does not have.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "ptm/models/gpt.h"
#include "ptm/models/safetensors.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

TEST_CASE("the Llama recipe trains on Jane Austen and its export runs in transformers", "[integration][llama]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  REQUIRE(ptm::test::prepare_data("janeausten_bpe8k", "recipes/data/janeausten_bpe.yaml") == "");
  ptm::test::TempDir tmp;
  const std::string run = tmp.file("run"), hf = tmp.file("hf");
  const std::string recipe = "pretrain --config recipes/pretrain/gpt_llama_tiny.yaml";
  auto r = run_ptm(recipe + " --run-dir " + run + " train.max_steps=3 train.eval_every=0 train.save_every=0");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = run_ptm("export --format hf --from " + run + " --out " + hf);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto config = nlohmann::json::parse(read_text(hf + "/config.json"));
  CHECK(config["architectures"][0] == "LlamaForCausalLM");
  CHECK(config["num_key_value_heads"] == 2);
  CHECK(config["tie_word_embeddings"] == false);

  // transformers loads the export (nothing missing or unexpected) with ptm's logits.
  const auto ids = torch::randint(8192, {2, 48}, torch::kInt64);
  ptm::models::save_safetensors(tmp.file("in.safetensors"), {{"input_ids", ids}});
  const std::string cmd = std::string("'") + ptm::test::python_exe() + "' '" + ptm::test::source_dir() +
                          "/tests/golden/llama_reference.py' check " + hf + " " + tmp.file("in.safetensors") + " " +
                          tmp.file("out.safetensors") + " 2>" + tmp.file("py_err.txt");
  const int rc = WEXITSTATUS(std::system(cmd.c_str()));
  INFO(read_text(tmp.file("py_err.txt")));
  REQUIRE(rc == 0);
  ptm::models::SafetensorsFile theirs(tmp.file("out.safetensors"));
  CHECK(theirs.metadata().at("class") == "LlamaForCausalLM");
  auto model = ptm::models::load_hf_gpt(hf);
  torch::NoGradGuard no_grad;
  ptm::data::Batch b;
  b.input_ids = ids;
  CHECK((model->forward(b).logits - theirs.tensor("logits")).abs().max().item<double>() <= 1e-4);

  r = run_ptm("info --hf " + hf);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "config.json: LlamaForCausalLM -> ptm model gpt"));

  // ptm generate reads text through the run's tokenizer (the export carries it): the run and
  // its export continue the same prompt with the same greedy tokens.
  std::vector<nlohmann::json> generated;
  for (const auto& source : {"--from " + run, "--hf " + hf}) {
    r = run_ptm("generate " + source + " --prompt 'It is a truth universally' --max-new-tokens 8 --json");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    generated.push_back(nlohmann::json::parse(r.out));
  }
  CHECK(generated[0]["ids"] == generated[1]["ids"]);
  CHECK(generated[0]["new_tokens"] == 8);
  CHECK(generated[0]["prompt_tokens"].get<int64_t>() > 1);
  CHECK(generated[0]["text"] == generated[1]["text"]);

  // init_from.hf alone builds the model from config.json: one step at a vanishing learning
  // rate keeps the exported weights.
  const std::string from_hf = tmp.file("from_hf");
  r = run_ptm(recipe + " --run-dir " + from_hf + " ~model init_from.hf=" + hf +
              " train.max_steps=1 train.eval_every=0 optimizer.lr=1e-30");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto before = ptm::models::load_safetensors(run + "/checkpoints/latest/model.safetensors");
  const auto after = ptm::models::load_safetensors(from_hf + "/checkpoints/latest/model.safetensors");
  REQUIRE(before.size() == after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    INFO(before[i].first);
    CHECK(before[i].first == after[i].first);
    CHECK(torch::allclose(before[i].second, after[i].second, 0, 1e-12));
  }

  // An architecture ptm does not have: exit 2 naming config.json and the key.
  fs::create_directories(tmp.file("qwen"));
  auto qwen = config;
  qwen["architectures"] = {"Qwen2ForCausalLM"};
  qwen["model_type"] = "qwen2";
  std::ofstream(tmp.file("qwen/config.json")) << qwen.dump(2);
  fs::copy_file(hf + "/model.safetensors", tmp.file("qwen/model.safetensors"));
  for (const auto& args : {"info --hf " + tmp.file("qwen"),
                           recipe + " --run-dir " + tmp.file("q") + " ~model init_from.hf=" + tmp.file("qwen")}) {
    INFO(args);
    r = run_ptm(args);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, tmp.file("qwen/config.json") + ": architectures: 'Qwen2ForCausalLM' is not supported"));
  }
}
