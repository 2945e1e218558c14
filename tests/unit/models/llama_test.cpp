// GPT with the Llama options and Hugging Face LlamaForCausalLM / MistralForCausalLM: logit
// parity with random small models made by tests/golden/llama_reference.py (GQA ratio 3, head
// counts that are not powers of two, odd vocabularies, Llama 3 rope scaling, a sliding
// window, sharded files), ptm's export loading in transformers with the same logits, and
// load errors in Llama names.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"
#include "ptm/models/gpt.h"
#include "ptm/models/hf_folder.h"

using namespace ptm::models;
using ptm::test::contains;
using ptm::test::error_of;

namespace {

int reference(const std::string& args, const ptm::test::TempDir& d, std::string& err) {
  const std::string cmd = std::string("'") + ptm::test::python_exe() + "' '" + ptm::test::source_dir() +
                          "/tests/golden/llama_reference.py' " + args + " >/dev/null 2>'" + d.file("py_err.txt") + "'";
  const int rc = WEXITSTATUS(std::system(cmd.c_str()));
  err = ptm::test::read_text(d.file("py_err.txt"));
  return rc;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a - b).abs().max().item<double>();
}

// The transformers model of `name` saved into d/name, and its reference input and logits.
std::shared_ptr<GptImpl> load_case(const std::string& name, const ptm::test::TempDir& d) {
  std::string err;
  REQUIRE(reference("reference " + name + " '" + d.file(name) + "' '" + d.file(name + ".safetensors") + "'", d, err) ==
          0);
  INFO(err);
  auto model = std::dynamic_pointer_cast<GptImpl>(load_hf_gpt(d.file(name)));
  REQUIRE(model);
  model->eval();
  return model;
}

}  // namespace

TEST_CASE("gpt loads transformers Llama and Mistral models and matches their logits", "[unit][models][gpt][llama]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir d;
  for (const std::string name : {"gqa3", "llama3", "mistral"}) {
    INFO(name);
    const auto model = load_case(name, d);
    const auto& o = model->options();
    CHECK(o.is_llama());
    if (name == "gqa3") {
      CHECK(std::filesystem::exists(d.file("gqa3/model.safetensors.index.json")));  // sharded
      CHECK((o.n_head == 6 && o.kv_heads() == 2 && !o.tie_word_embeddings && !o.bias && o.rope_theta == 500.0));
      CHECK(o.rope_scaling.type == "none");
    } else if (name == "llama3") {
      CHECK((o.rope_scaling.type == "llama3" && o.rope_scaling.original_max_positions == 32));
      CHECK((o.tie_word_embeddings && o.bias && o.kv_heads() == 1));
    } else {
      CHECK((o.sliding_window == 8 && o.head_dim() == 12));
    }
    SafetensorsFile ref(d.file(name + ".safetensors"));
    CHECK(count_parameters(*model) == std::stoll(ref.metadata().at("num_parameters")));
    torch::NoGradGuard no_grad;
    CHECK(max_diff(model->forward_ids(ref.tensor("input_ids")).logits, ref.tensor("logits")) <= 1e-4);
    ForwardOptions explicit_softmax;  // the explicit attention path (probabilities kept) agrees too
    explicit_softmax.output_attentions = true;
    CHECK(max_diff(model->forward_ids(ref.tensor("input_ids"), explicit_softmax).logits, ref.tensor("logits")) <= 1e-4);
  }
}

TEST_CASE("gpt exports Llama folders that transformers loads with the same logits", "[unit][models][gpt][llama]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir d;
  for (const std::string name : {"gqa3", "llama3", "mistral"}) {
    INFO(name);
    const auto model = load_case(name, d);
    const std::string out = d.file(name + "_export");
    save_hf_folder_sharded(*model, out, /*max_shard_bytes=*/name == "gqa3" ? 50000 : kHfMaxShardBytes);
    CHECK(std::filesystem::exists(out + "/model.safetensors.index.json") == (name == "gqa3"));
    const auto tensors = load_safetensors(out);
    bool q_proj = false, fused = false, lm_head = false;
    for (const auto& [n, t] : tensors) {
      q_proj = q_proj || n == "model.layers.1.self_attn.q_proj.weight";
      fused = fused || contains(n, "c_attn") || contains(n, "c_fc");
      lm_head = lm_head || n == "lm_head.weight";
    }
    CHECK(q_proj);
    CHECK_FALSE(fused);
    CHECK(lm_head == !model->options().tie_word_embeddings);

    // ptm reads its own export back bit for bit.
    auto back = std::dynamic_pointer_cast<GptImpl>(load_hf_gpt(out));
    REQUIRE(back);
    for (const auto& p : model->named_parameters()) CHECK(torch::equal(p.value(), back->named_parameters()[p.key()]));

    // transformers reads it with the same logits, as the class the config names.
    std::string err;
    REQUIRE(reference("check '" + out + "' '" + d.file(name + ".safetensors") + "' '" + d.file("out.safetensors") + "'",
                      d, err) == 0);
    INFO(err);
    SafetensorsFile theirs(d.file("out.safetensors"));
    CHECK(theirs.metadata().at("class") == (name == "mistral" ? "MistralForCausalLM" : "LlamaForCausalLM"));
    torch::NoGradGuard no_grad;
    const auto input = SafetensorsFile(d.file(name + ".safetensors")).tensor("input_ids");
    CHECK(max_diff(model->forward_ids(input).logits, theirs.tensor("logits")) <= 1e-4);
  }
}

TEST_CASE("gpt Llama load errors name the Llama tensors and config keys", "[unit][models][gpt][llama]") {
  GptOptions o;
  o.vocab_size = 101;
  o.n_embd = 24;
  o.n_layer = 2;
  o.n_head = 3;
  o.n_kv_head = 1;
  o.n_inner = 40;
  o.norm = "rmsnorm";
  o.position = "rotary";
  o.mlp = "swiglu";
  o.bias = false;
  o.tie_word_embeddings = false;
  Gpt model(o);
  ptm::test::TempDir d;
  save_hf_folder_sharded(*model, d.file("ok"), kHfMaxShardBytes);
  NamedTensors broken;
  for (const auto& [name, t] : load_safetensors(d.file("ok"))) {
    if (name == "model.layers.1.self_attn.k_proj.weight") continue;  // q and v cannot be fused without it
    broken.emplace_back(name, name == "model.layers.0.mlp.down_proj.weight" ? torch::zeros({24, 41}) : t);
  }
  Gpt target(o);
  const auto r = target->load_hf_state_dict(broken);
  const std::string report = r.str();
  INFO(report);
  CHECK(contains(report, "model.layers.1.self_attn.{q,k,v}_proj.weight [40, 24]"));  // missing, fused shape
  CHECK(contains(report, "model.layers.1.self_attn.q_proj.weight"));                 // unexpected alone
  CHECK(contains(report, "model.layers.0.mlp.down_proj.weight: checkpoint [24, 41] vs model [24, 40]"));

  auto config = model->hf_config();
  CHECK(config["architectures"][0] == "LlamaForCausalLM");
  CHECK(GptOptions::from_hf_config(config).n_kv_head == 1);
  struct Case {
    const char* key;
    nlohmann::json value;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"hidden_act", "gelu", "hidden_act: 'gelu' is not supported"},
      {"rope_parameters",
       {{"rope_type", "yarn"}, {"factor", 4.0}},
       "rope_parameters.rope_type: 'yarn' is not supported"},
      {"mlp_bias", true, "mlp_bias: differs from attention_bias"},
      {"num_key_value_heads", 2, "n_head (3) must be divisible by n_kv_head (2)"},
      {"sliding_window", 16, "sliding_window: is a Mistral option"},
  };
  for (const auto& c : cases) {
    INFO(c.key);
    auto bad = config;
    bad[c.key] = c.value;
    d.write("bad/config.json", bad.dump());
    std::filesystem::copy_file(d.file("ok/model.safetensors"), d.file("bad/model.safetensors"),
                               std::filesystem::copy_options::overwrite_existing);
    const auto err = error_of([&] { load_hf_gpt(d.file("bad")); });
    CHECK(contains(err, d.file("bad/config.json")));
    CHECK(contains(err, c.message));
  }
}

TEST_CASE("a Llama-style GPT with fewer heads and a narrower MLP in every layer exports with head_dim",
          "[unit][models][gpt][llama][nas]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir d;
  GptOptions o;
  o.vocab_size = 101;
  o.n_positions = 64;
  o.n_embd = 48;
  o.n_layer = 2;
  o.n_head = 4;  // multi-head: the keys and values go with their heads
  o.norm = "rmsnorm";
  o.position = "rotary";
  o.mlp = "swiglu";
  o.bias = false;
  o.tie_word_embeddings = false;
  o.head_size = 12;
  o.layer_heads = {3, 3};  // 3 heads of 12: attention 36 wide in a 48-wide model
  o.layer_inner = {40, 40};
  torch::manual_seed(5);
  Gpt model(o);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.05);
  }
  model->eval();
  const auto config = model->hf_config();
  CHECK(config["num_attention_heads"] == 3);
  CHECK(config["num_key_value_heads"] == 3);
  CHECK(config["head_dim"] == 12);
  CHECK(config["intermediate_size"] == 40);
  const std::string out = d.file("export");
  save_hf_folder_sharded(*model, out, kHfMaxShardBytes);
  const auto input = torch::randint(0, 101, {2, 9}, torch::kLong);
  save_safetensors(d.file("in.safetensors"), {{"input_ids", input}});
  std::string err;
  const int rc =
      reference("check '" + out + "' '" + d.file("in.safetensors") + "' '" + d.file("out.safetensors") + "'", d, err);
  INFO(err);
  REQUIRE(rc == 0);
  torch::NoGradGuard no_grad;
  CHECK(max_diff(model->forward_ids(input).logits, SafetensorsFile(d.file("out.safetensors")).tensor("logits")) <= 1e-4);
  // Layers of different sizes have no Llama config.
  o.layer_inner = {40, 32};
  CHECK_THAT(error_of([&] { Gpt(o)->hf_config(); }), Catch::Contains("its layers differ in size"));
}
