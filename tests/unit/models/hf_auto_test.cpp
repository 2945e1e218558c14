// hf_auto: config.json's architectures / model_type pick the ptm model; an architecture ptm
// does not have is an IoError naming config.json and the key.
#include <filesystem>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"
#include "ptm/models/bert.h"
#include "ptm/models/gpt.h"
#include "ptm/models/hf_auto.h"
#include "ptm/models/hf_contradictions.h"
#include "ptm/models/hf_folder.h"

using namespace ptm::models;
using ptm::test::contains;
using ptm::test::error_of;

TEST_CASE("hf_model_kind picks the model from architectures, else model_type", "[unit][models][hf_auto]") {
  struct Case {
    nlohmann::json config;
    const char* family;
    const char* architecture;
  };
  const std::vector<Case> ok = {
      {{{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}}, "gpt", "LlamaForCausalLM"},
      {{{"architectures", {"MistralForCausalLM"}}}, "gpt", "MistralForCausalLM"},
      {{{"architectures", {"GPT2LMHeadModel"}}, {"model_type", "gpt2"}}, "gpt", "GPT2LMHeadModel"},
      {{{"model_type", "llama"}}, "gpt", "llama"},
      {{{"architectures", {"BertForSequenceClassification"}}, {"model_type", "bert"}},
       "bert",
       "BertForSequenceClassification"},
      {{{"model_type", "vit"}}, "vit", "vit"},
      {{{"architectures", {"resnet18"}}, {"model_type", "torchvision_resnet"}}, "resnet", "torchvision_resnet"},
  };
  for (const auto& c : ok) {
    INFO(c.config.dump());
    const auto kind = hf_model_kind(c.config, "d/config.json");
    CHECK(kind.family == c.family);
    CHECK(kind.architecture == c.architecture);
  }
  struct Bad {
    nlohmann::json config;
    const char* message;
  };
  const std::vector<Bad> bad = {
      {{{"architectures", {"Qwen2ForCausalLM"}}, {"model_type", "qwen2"}},
       "d/config.json: architectures: 'Qwen2ForCausalLM' is not supported; ptm builds "},
      {{{"model_type", "t5"}}, "d/config.json: model_type: 't5' is not supported; ptm builds "},
      {{{"architectures", {"LlamaForCausalLM"}}, {"model_type", "gpt2"}},
       "d/config.json: model_type: 'gpt2' contradicts architectures 'LlamaForCausalLM' (expected 'llama')"},
      {nlohmann::json::object(), "d/config.json: architectures: missing, and so is model_type"},
      {{{"model_type", 3}}, "model_type"},
  };
  for (const auto& c : bad) {
    INFO(c.config.dump());
    const auto err = error_of([&] { hf_model_kind(c.config, "d/config.json"); });
    CHECK(contains(err, c.message));
  }
  // The list of what ptm has comes with the refusal.
  const auto err = error_of([&] { hf_model_kind({{"architectures", {"Phi3ForCausalLM"}}}, "d/config.json"); });
  CHECK(contains(err, "LlamaForCausalLM"));
  CHECK(contains(err, "BertForMaskedLM"));
}

TEST_CASE("hf_model_builder and load_hf_model build what config.json names", "[unit][models][hf_auto]") {
  ptm::test::TempDir d;
  GptOptions o;
  o.vocab_size = 97;
  o.n_positions = 64;
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
  Gpt llama(o);
  save_hf_folder_sharded(*llama, d.file("llama"), kHfMaxShardBytes);

  HfModelKind kind;
  const auto fresh = std::dynamic_pointer_cast<GptImpl>(hf_model_builder(d.file("llama"), &kind)());
  REQUIRE(fresh);
  CHECK(kind.family == "gpt");
  CHECK(kind.architecture == "LlamaForCausalLM");
  CHECK(fresh->options().is_llama());
  CHECK((fresh->options().kv_heads() == 1 && fresh->options().inner() == 40 && fresh->options().vocab_size == 97));
  CHECK_FALSE(torch::equal(fresh->lm_head->weight, llama->lm_head->weight));  // built, not loaded

  const auto loaded = std::dynamic_pointer_cast<GptImpl>(load_hf_model(d.file("llama")));
  REQUIRE(loaded);
  CHECK(torch::equal(loaded->lm_head->weight, llama->lm_head->weight));

  BertOptions b;
  b.vocab_size = 50;
  b.hidden_size = 16;
  b.num_hidden_layers = 1;
  b.num_attention_heads = 2;
  b.intermediate_size = 32;
  b.max_position_embeddings = 32;
  b.head.type = "classification";
  b.head.num_labels = 3;
  save_hf_folder(BertImpl(b), d.file("bert"));
  CHECK(load_hf_model(d.file("bert"))->arch() == "bert");

  // Unsupported: the error names the file and the key, for building and loading alike.
  auto config = llama->hf_config();
  config["architectures"] = {"Qwen2ForCausalLM"};
  config["model_type"] = "qwen2";
  d.write("qwen/config.json", config.dump());
  for (const auto& err :
       {error_of([&] { hf_model_builder(d.file("qwen")); }), error_of([&] { load_hf_model(d.file("qwen")); })}) {
    CHECK(contains(err, d.file("qwen/config.json") + ": architectures: 'Qwen2ForCausalLM' is not supported"));
  }
  CHECK(contains(error_of([&] { hf_model_builder(d.file("none")); }), "is not a folder"));
  std::filesystem::create_directories(d.file("empty"));
  CHECK(contains(error_of([&] { hf_model_builder(d.file("empty")); }), "has no config.json"));
}

TEST_CASE("a config.json that contradicts its weights names the file and the key", "[unit][models][hf_auto]") {
  ptm::test::TempDir d;
  GptOptions o;
  o.vocab_size = 97;
  o.n_positions = 16;
  o.n_embd = 24;
  o.n_layer = 1;
  o.n_head = 3;
  save_hf_folder_sharded(*Gpt(o), d.file("gpt"), kHfMaxShardBytes);
  auto config = nlohmann::json::parse(ptm::test::read_text(d.file("gpt/config.json")));
  config["vocab_size"] = 120;
  d.write("gpt/config.json", config.dump());
  const auto gpt_err = error_of([&] { load_hf_model(d.file("gpt")); });
  CHECK(contains(gpt_err, d.file("gpt/config.json") +
                              ": vocab_size is 120, but the weights' transformer.wte.weight is [97, 24] "
                              "(config.json makes it [120, 24])"));

  BertOptions b;
  b.vocab_size = 50;
  b.hidden_size = 16;
  b.num_hidden_layers = 1;
  b.num_attention_heads = 2;
  b.intermediate_size = 32;
  b.max_position_embeddings = 24;
  save_hf_folder(BertImpl(b), d.file("bert"));
  config = nlohmann::json::parse(ptm::test::read_text(d.file("bert/config.json")));
  config["intermediate_size"] = 40;
  d.write("bert/config.json", config.dump());
  const auto bert_err = error_of([&] { load_hf_model(d.file("bert")); });
  CHECK(contains(bert_err, d.file("bert/config.json") + ": intermediate_size is 40, but the weights' "));

  // Lines it cannot explain (no key holds the size) are left to the tensor report.
  CHECK(hf_config_contradictions({{"n_embd", 24}}, "c.json", {"h.0.attn.bias: checkpoint [3] vs model [5]"}).empty());
  CHECK(hf_config_contradictions({{"pad_token_id", 5}}, "c.json", {"x: checkpoint [3] vs model [5]"}).empty());
}
