// GPT and Hugging Face transformers: logit parity with a random GPT2LMHeadModel made by
// tests/golden/gpt2_reference.py, export -> import bit identity, transformers loading ptm's
// export, and load reports naming every bad tensor with both shapes.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"
#include "ptm/models/gpt.h"

using namespace ptm::models;
using ptm::test::contains;
using ptm::test::error_of;

namespace {

// Runs tests/golden/gpt2_reference.py; returns its exit code, stderr kept in `err`.
int reference(const std::string& args, const ptm::test::TempDir& d, std::string& err) {
  const std::string cmd = std::string("'") + ptm::test::python_exe() + "' '" + ptm::test::source_dir() +
                          "/tests/golden/gpt2_reference.py' " + args + " >/dev/null 2>'" + d.file("py_err.txt") + "'";
  const int rc = WEXITSTATUS(std::system(cmd.c_str()));
  err = ptm::test::read_text(d.file("py_err.txt"));
  return rc;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a - b).abs().max().item<double>();
}

// What `ptm export --format hf` writes for a model: config.json + model.safetensors.
void export_hf(const ModelImpl& m, const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json") << m.hf_config().dump(2);
  save_safetensors(dir + "/model.safetensors", m.hf_state_dict(), {{"format", "pt"}});
}

GptOptions small_gpt2() {
  GptOptions o;
  o.vocab_size = 1000;
  o.n_positions = 128;
  o.n_embd = 64;
  o.n_layer = 3;
  o.n_head = 4;
  return o;
}

// A GPT whose every parameter is perturbed (LayerNorms and biases not 1/0), in eval mode.
Gpt random_gpt(const GptOptions& o, uint64_t seed) {
  torch::manual_seed(seed);
  Gpt m(o);
  torch::NoGradGuard no_grad;
  for (auto& p : m->parameters()) p.add_(torch::randn_like(p) * 0.05);
  m->eval();
  return m;
}

torch::Tensor ids(int64_t b, int64_t t, int64_t vocab, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randint(0, vocab, {b, t}, torch::kLong);
}

}  // namespace

TEST_CASE("gpt loads a transformers GPT-2 and matches its logits hidden states and attentions", "[unit][models][gpt]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir d;
  std::string err;
  REQUIRE(reference("reference '" + d.file("hf") + "' '" + d.file("ref.safetensors") + "'", d, err) == 0);
  INFO(err);
  SafetensorsFile ref(d.file("ref.safetensors"));
  auto model = std::dynamic_pointer_cast<GptImpl>(load_hf_gpt(d.file("hf")));
  REQUIRE(model);
  model->eval();
  const auto& o = model->options();
  CHECK(o.n_layer == 3);
  CHECK(o.n_inner == 200);
  CHECK(o.layer_norm_epsilon == 1e-6);
  CHECK(count_parameters(*model) == std::stoll(ref.metadata().at("num_parameters")));

  torch::NoGradGuard no_grad;
  ForwardOptions fo;
  fo.output_hidden_states = fo.output_attentions = true;
  const auto out = model->forward_ids(ref.tensor("input_ids"), fo);
  const double logits_diff = max_diff(out.logits, ref.tensor("logits"));
  CHECK(logits_diff <= 1e-4);
  // transformers' hidden_states: the embeddings, each block's input ..., and ln_f(last block).
  REQUIRE(out.hidden_states.size() == 4);
  for (int i = 0; i < 3; ++i) CHECK(max_diff(out.hidden_states[i], ref.tensor("hidden_" + std::to_string(i))) <= 1e-4);
  CHECK(max_diff(out.last_hidden, ref.tensor("hidden_3")) <= 1e-4);
  REQUIRE(out.attentions.size() == 3);
  for (int i = 0; i < 3; ++i) CHECK(max_diff(out.attentions[i], ref.tensor("attention_" + std::to_string(i))) <= 1e-5);
  // The fused SDPA path gives the same logits as the explicit one.
  CHECK(max_diff(model->forward_ids(ref.tensor("input_ids")).logits, ref.tensor("logits")) <= 1e-4);
}

TEST_CASE("gpt export round trips bit for bit and transformers reproduces its logits", "[unit][models][gpt]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir d;
  auto o = small_gpt2();
  o.n_positions = 64;
  o.vocab_size = 777;
  auto model = random_gpt(o, 11);
  export_hf(*model, d.file("export"));
  CHECK(model->hf_config()["n_inner"].is_null());

  // GPT2LMHeadModel.save_pretrained writes no lm_head.weight for a tied head; neither does ptm.
  SafetensorsFile file(d.file("export/model.safetensors"));
  CHECK(file.find("lm_head.weight") == nullptr);
  REQUIRE(file.find("transformer.h.0.attn.c_attn.weight") != nullptr);
  CHECK(file.find("transformer.h.0.attn.c_attn.weight")->shape == std::vector<int64_t>{64, 192});  // Conv1D [in, out]

  auto back = std::dynamic_pointer_cast<GptImpl>(load_hf_gpt(d.file("export")));
  REQUIRE(back);
  back->eval();
  const auto mine = model->named_parameters();
  const auto theirs = back->named_parameters();
  REQUIRE(mine.size() == theirs.size());
  for (const auto& p : mine) {
    INFO(p.key());
    CHECK(torch::equal(p.value(), theirs[p.key()]));
  }
  const auto input = ids(3, 50, o.vocab_size, 5);
  torch::NoGradGuard no_grad;
  const auto logits = model->forward_ids(input).logits;
  CHECK(torch::equal(logits, back->forward_ids(input).logits));

  save_safetensors(d.file("in.safetensors"), {{"input_ids", input}});
  std::string err;
  REQUIRE(reference(
              "check '" + d.file("export") + "' '" + d.file("in.safetensors") + "' '" + d.file("out.safetensors") + "'",
              d, err) == 0);
  INFO(err);
  const double diff = max_diff(logits, SafetensorsFile(d.file("out.safetensors")).tensor("logits"));
  CHECK(diff <= 1e-4);
}

TEST_CASE("gpt untied heads and GPT2Model files load too", "[unit][models][gpt]") {
  ptm::test::TempDir d;
  auto o = small_gpt2();
  o.tie_word_embeddings = false;
  auto untied = random_gpt(o, 3);
  export_hf(*untied, d.file("untied"));
  CHECK(SafetensorsFile(d.file("untied/model.safetensors")).find("lm_head.weight") != nullptr);
  auto back = std::dynamic_pointer_cast<GptImpl>(load_hf_gpt(d.file("untied")));
  CHECK(torch::equal(back->lm_head->weight, untied->lm_head->weight));
  CHECK_FALSE(torch::equal(back->lm_head->weight, back->transformer->wte->weight));

  // Old GPT2Model checkpoints: no "transformer." prefix, causal-mask buffers attn.bias/masked_bias.
  auto model = random_gpt(small_gpt2(), 4);
  NamedTensors old;
  for (const auto& [name, t] : model->hf_state_dict())
    old.emplace_back(name.substr(std::string("transformer.").size()), t);
  old.emplace_back("h.0.attn.bias", torch::ones({1, 1, 128, 128}).tril());
  old.emplace_back("h.0.attn.masked_bias", torch::tensor(-1e4f));
  Gpt fresh(small_gpt2());
  const auto report = fresh->load_hf_state_dict(old);
  INFO(report.str());
  CHECK(report.ok());
  for (const auto& p : model->named_parameters()) CHECK(torch::equal(p.value(), fresh->named_parameters()[p.key()]));
}

TEST_CASE("gpt load errors name every missing unexpected and mis-shaped tensor with both shapes",
          "[unit][models][gpt]") {
  ptm::test::TempDir d;
  auto model = random_gpt(small_gpt2(), 9);
  export_hf(*model, d.file("ok"));
  NamedTensors broken;
  for (const auto& [name, t] : model->hf_state_dict()) {
    if (name == "transformer.h.1.ln_2.bias") continue;  // missing
    if (name == "transformer.h.0.mlp.c_fc.weight")
      broken.emplace_back(name, torch::zeros({64, 100}));  // mis-shaped
    else if (name == "transformer.wpe.weight")
      broken.emplace_back(name, torch::zeros({64, 64}));
    else
      broken.emplace_back(name, t);
  }
  broken.emplace_back("transformer.h.7.attn.c_attn.weight", torch::zeros({64, 192}));  // unexpected
  std::filesystem::create_directories(d.file("bad"));
  std::filesystem::copy_file(d.file("ok/config.json"), d.file("bad/config.json"));
  save_safetensors(d.file("bad/model.safetensors"), broken);

  std::string err;
  try {
    load_hf_gpt(d.file("bad"));
    err = "no error";
  } catch (const ptm::IoError& e) {
    err = e.what();
  }
  INFO(err);
  CHECK(contains(err, d.file("bad")));
  CHECK(contains(err, "4 problems"));
  CHECK(contains(err, "missing from the checkpoint: transformer.h.1.ln_2.bias [64]"));
  CHECK(contains(err, "shape mismatch: transformer.h.0.mlp.c_fc.weight: checkpoint [64, 100] vs model [64, 256]"));
  CHECK(contains(err, "shape mismatch: transformer.wpe.weight: checkpoint [64, 64] vs model [128, 64]"));
  CHECK(contains(err, "not in the model: transformer.h.7.attn.c_attn.weight [64, 192]"));

  // Nothing is copied from a bad file in strict mode; matching tensors are in lenient mode.
  Gpt target(small_gpt2());
  const auto before = target->transformer->wte->weight.clone();
  CHECK_FALSE(target->load_hf_state_dict(broken, /*strict=*/true).ok());
  CHECK(torch::equal(target->transformer->wte->weight, before));
  CHECK(target->load_hf_state_dict(broken, /*strict=*/false).mismatched.size() == 2);
  CHECK(torch::equal(target->transformer->wte->weight, model->transformer->wte->weight));
}

TEST_CASE("gpt config.json problems are clear IoErrors", "[unit][models][gpt]") {
  auto base = Gpt(small_gpt2())->hf_config();
  CHECK(GptOptions::from_hf_config(base).n_embd == 64);
  struct Case {
    const char* key;
    nlohmann::json value;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"model_type", "bert", "model_type is 'bert', expected one of gpt2, llama, mistral"},
      {"activation_function", "relu", "activation_function 'relu' is not supported"},
      {"add_cross_attention", true, "add_cross_attention: true is not supported"},
      {"scale_attn_by_inverse_layer_idx", true, "scale_attn_by_inverse_layer_idx"},
      {"n_head", 5, "n_embd (64) must be divisible by n_head (5)"},
      {"n_embd", "64", "'n_embd' has the wrong type"},
      {"n_layer", 0, "n_layer: must be >= 1, got 0"},
  };
  for (const auto& c : cases) {
    INFO(c.key);
    auto config = base;
    config[c.key] = c.value;
    CHECK(contains(error_of([&] { GptOptions::from_hf_config(config); }), c.message));
  }
  ptm::test::TempDir d;
  CHECK(contains(error_of([&] { load_hf_gpt(d.path()); }), "has no config.json"));
  d.write("config.json", base.dump());
  CHECK(contains(error_of([&] { load_hf_gpt(d.path()); }), "neither model.safetensors"));
  d.write("config.json", "{\"n_embd\": ");
  CHECK(contains(error_of([&] { load_hf_gpt(d.path()); }), "not valid JSON"));
}
