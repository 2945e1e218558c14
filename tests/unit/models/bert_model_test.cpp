// BERT invariants and plumbing without a reference library: padding never changes real
// tokens, SDPA and explicit attention agree, load reports name tensors with both shapes,
// checkpoint name mapping (prefix, gamma/beta, buffers), strict option binding, presets,
// analytic FLOPs and the per-block summary; on a GPU, bf16 autocast close to fp32 on the CPU.
#include <filesystem>
#include <functional>

#include "bert_test_util.h"
#include "skip.h"
#include "ptm/config/load.h"
#include "ptm/core/errors.h"
#include "ptm/models/resnet.h"
#include "ptm/models/vit.h"
#include "ptm/models/zoo.h"
#include "ptm/train/autocast.h"

using namespace ptm;
using namespace ptm::models;
using namespace ptm::test::bert;
using ptm::test::contains;
using ptm::test::error_of;

namespace {

std::vector<std::string> problems_of(const std::string& yaml) {
  config::BindContext ctx;
  const auto n = config::parse_yaml(yaml, "m.yaml");
  const auto builder = parse_model(config::Section(ctx, n.find("model"), "model", {}));
  std::vector<std::string> out;
  for (const auto& d : ctx.problems()) out.push_back(d.path + ": " + d.message);
  if (out.empty()) REQUIRE(static_cast<bool>(builder));
  return out;
}

NamedTensors renamed(const NamedTensors& in, const std::function<std::string(const std::string&)>& f) {
  NamedTensors out;
  for (const auto& [name, t] : in) out.emplace_back(f(name), t);
  return out;
}

}  // namespace

TEST_CASE("bert padding never changes the outputs of real tokens", "[unit][models][bert]") {
  torch::manual_seed(3);
  Bert model(tiny_options("classification"));
  perturb(*model, 0.05, 5);
  model->eval();
  torch::NoGradGuard no_grad;
  const auto full = random_batch({15, 9}, 15, 300, 1, 8);  // row 1: 9 real tokens, 6 padding
  data::Batch alone;
  alone.input_ids = full.input_ids.narrow(0, 1, 1).narrow(1, 0, 9);
  alone.attention_mask = full.attention_mask.narrow(0, 1, 1).narrow(1, 0, 9);
  alone.token_type_ids = full.token_type_ids.narrow(0, 1, 1).narrow(1, 0, 9);
  auto garbage = full;  // other ids and token types at the padded positions
  garbage.input_ids = full.input_ids.clone();
  garbage.token_type_ids = full.token_type_ids.clone();
  garbage.input_ids[1].narrow(0, 9, 6).copy_(torch::arange(50, 56));
  garbage.token_type_ids[1].narrow(0, 9, 6).fill_(2);
  for (const bool explicit_attention : {false, true}) {
    INFO("explicit attention: " << explicit_attention);
    ForwardOptions fo;
    fo.output_attentions = explicit_attention;
    const auto a = model->forward(alone, fo), b = model->forward(full, fo), c = model->forward(garbage, fo);
    CHECK(max_diff(a.last_hidden[0], b.last_hidden[1].narrow(0, 0, 9)) <= 1e-5);
    CHECK(max_diff(b.last_hidden[1].narrow(0, 0, 9), c.last_hidden[1].narrow(0, 0, 9)) <= 1e-6);
    CHECK(max_diff(a.logits[0], b.logits[1]) <= 1e-5);
    CHECK(max_diff(b.pooled[0], c.pooled[0]) <= 1e-6);  // the unpadded row is untouched too
    if (explicit_attention) {
      REQUIRE(b.attentions.size() == 2);
      CHECK(b.attentions[0].sizes() == torch::IntArrayRef({2, 4, 15, 15}));
      CHECK(b.attentions[1][1].narrow(-1, 9, 6).abs().max().item<float>() == 0.0f);  // padded keys get no weight
      CHECK(max_diff(b.attentions[1][1].sum(-1), torch::ones({4, 15})) <= 1e-5);
    }
  }
  ForwardOptions with, without;
  with.output_attentions = true;
  CHECK(max_diff(model->forward(full, with).last_hidden, model->forward(full, without).last_hidden) <= 1e-5);
}

TEST_CASE("bert outputs hidden states heads and dropout as documented", "[unit][models][bert]") {
  torch::NoGradGuard no_grad;
  const auto batch = random_batch({7, 5}, 7, 300, 1, 2);
  Bert mlm(tiny_options("mlm"));
  mlm->eval();
  ForwardOptions fo;
  fo.output_hidden_states = true;
  const auto out = mlm->forward(batch, fo);
  CHECK(out.hidden_states.size() == 3);  // embeddings + 2 layers
  CHECK(torch::equal(out.hidden_states.back(), out.last_hidden));
  CHECK(out.logits.sizes() == torch::IntArrayRef({2, 7, 300}));
  CHECK_FALSE(out.pooled.defined());  // BertForMaskedLM has no pooler
  CHECK(out.attentions.empty());
  Bert reg(tiny_options("regression"));
  reg->eval();
  CHECK(reg->forward(batch).logits.sizes() == torch::IntArrayRef({2}));
  data::Batch no_mask;  // attention_mask and token types absent: all real, segment 0
  no_mask.input_ids = batch.input_ids.narrow(1, 0, 5);
  auto explicit_mask = no_mask;
  explicit_mask.attention_mask = torch::ones({2, 5}, torch::kInt64);
  explicit_mask.token_type_ids = torch::zeros({2, 5}, torch::kInt64);
  CHECK(torch::allclose(reg->forward(no_mask).logits, reg->forward(explicit_mask).logits, 1e-6, 1e-6));
  reg->train();
  CHECK_FALSE(torch::equal(reg->forward(batch).last_hidden, reg->forward(batch).last_hidden));  // dropout on
  data::Batch too_long;
  too_long.input_ids = torch::ones({1, 41}, torch::kInt64);
  CHECK(contains(error_of([&] { reg->forward(too_long); }), "exceed max_position_embeddings 40"));
}

TEST_CASE("bert load reports name the tensor and both shapes", "[unit][models][bert]") {
  ptm::test::TempDir tmp;
  Bert plain(tiny_options("none"));
  save_hf_bert(*plain, tmp.file("plain"));
  auto tensors = plain->hf_state_dict();
  NamedTensors broken;
  for (const auto& [name, t] : tensors) {
    if (name == "encoder.layer.1.output.dense.bias") continue;
    broken.emplace_back(name, name == "encoder.layer.0.attention.self.query.weight" ? torch::zeros({64, 32}) : t);
  }
  broken.emplace_back("encoder.layer.7.extra.weight", torch::zeros({2}));
  save_hf_bert(*plain, tmp.file("broken"));
  save_safetensors(tmp.file("broken/model.safetensors"), broken);
  const std::string err = error_of([&] { load_hf_bert(tmp.file("broken")); });
  CHECK(contains(err, tmp.file("broken")));
  CHECK(contains(err, "3 problems"));
  CHECK(contains(err, "encoder.layer.0.attention.self.query.weight: checkpoint [64, 32] vs model [64, 64]"));
  CHECK(contains(err, "missing from the checkpoint: encoder.layer.1.output.dense.bias"));
  CHECK(contains(err, "not in the model: encoder.layer.7.extra.weight"));
  CHECK_THROWS_AS(load_hf_bert(tmp.file("broken")), IoError);
  CHECK(contains(error_of([&] { load_hf_bert(tmp.file("nowhere")); }), "not a directory"));

  // A plain BertModel checkpoint (MiniLM's layout) into head models: only the head is missing.
  BertHeadOptions cls{"classification", 4, -1};
  LoadReport report;
  const auto classifier = load_hf_bert(tmp.file("plain"), cls, &report);
  CHECK(report.missing == std::vector<std::string>{"classifier.bias", "classifier.weight"});
  CHECK(report.unexpected.empty());
  CHECK(report.mismatched.empty());
  CHECK(torch::equal(classifier->hf_state_dict()[0].second, tensors[0].second));
  CHECK(classifier->hf_state_dict()[0].first == "bert.embeddings.word_embeddings.weight");
  load_hf_bert(tmp.file("plain"), BertHeadOptions{"mlm", 2, -1}, &report);
  CHECK(report.missing.size() == 5);  // cls.predictions: bias, transform dense and LayerNorm; the pooler is dropped
  CHECK(report.unexpected.empty());
  // A head checkpoint into another head model: left-over head tensors are reported, not fatal;
  // a head of the wrong size is an error.
  Bert three(tiny_options("classification", 3));
  save_hf_bert(*three, tmp.file("three"));
  load_hf_bert(tmp.file("three"), BertHeadOptions{}, &report);
  CHECK(report.unexpected == std::vector<std::string>{"classifier.bias", "classifier.weight"});
  CHECK(contains(error_of([&] {
                   load_hf_bert(tmp.file("three"), BertHeadOptions{"classification", 2, -1});
                 }),
                 "classifier.weight: checkpoint [3, 64] vs model [2, 64]"));
}

TEST_CASE("bert maps legacy and prefixed checkpoint names", "[unit][models][bert]") {
  torch::manual_seed(1);
  Bert source(tiny_options("mlm"));
  perturb(*source, 0.05, 9);
  auto legacy = renamed(source->hf_state_dict(), [](const std::string& n) {
    const auto dot = n.rfind('.');
    if (n.find("LayerNorm") == std::string::npos) return n;
    return n.substr(0, dot + 1) + (n.substr(dot + 1) == "weight" ? "gamma" : "beta");
  });
  legacy.emplace_back("bert.embeddings.position_ids", torch::arange(40).unsqueeze(0));
  legacy.emplace_back("cls.predictions.decoder.weight", torch::zeros({300, 64}));  // tied: ignored
  legacy.emplace_back("bert.pooler.dense.weight", torch::zeros({64, 64}));         // no pooler in MLM
  Bert target(tiny_options("mlm"));
  const auto r = target->load_hf_state_dict(legacy, /*strict=*/true);
  INFO(r.str());
  CHECK(r.ok());
  const auto a = source->hf_state_dict(), b = target->hf_state_dict();
  for (size_t i = 0; i < a.size(); ++i) CHECK(torch::equal(a[i].second, b[i].second));
  // Strict loading copies nothing when something is wrong.
  Bert fresh(tiny_options("mlm"));
  const auto before = fresh->hf_state_dict()[0].second.clone();
  NamedTensors partial(a.begin(), a.begin() + 3);
  CHECK_FALSE(fresh->load_hf_state_dict(partial, true).ok());
  CHECK(torch::equal(fresh->hf_state_dict()[0].second, before));
}

TEST_CASE("bert options are bound with checks reported on each key", "[unit][models][bert]") {
  const auto p = problems_of(
      "model:\n  type: bert\n  hidden_size: 100\n  num_attention_heads: 3\n  head: clasification\n"
      "  num_labels: 0\n  hidden_dropout_prob: 1.5\n  pad_token_id: 40000\n  hiden_act: gelu\n  hidden_act: swish\n");
  std::string all;
  for (const auto& s : p) all += s + "\n";
  INFO(all);
  CHECK(contains(all, "model.num_attention_heads: must divide hidden_size (100), got 3"));
  CHECK(contains(all, "model.head: 'clasification' is not one of: none, mlm, classification"));
  CHECK(contains(all, "did you mean classification?"));
  CHECK(contains(all, "model.num_labels: must be >= 1, got 0"));
  CHECK(contains(all, "model.hidden_dropout_prob: must be in [0, 1)"));
  CHECK(contains(all, "model.pad_token_id: must lie in [0, vocab_size 30522), got 40000"));
  CHECK(contains(all, "model.hidden_act: 'swish' is not one of"));
  CHECK(contains(all, "model.hiden_act: unknown key"));
  CHECK(p.size() == 7);
  CHECK(contains(problems_of("model:\n  type: bert\n  num_hidden_layers: many\n")[0],
                 "model.num_hidden_layers: expected an integer"));
  CHECK(problems_of("model: {type: bert, hidden_size: 96, num_attention_heads: 6, head: regression}").empty());
  CHECK(contains(error_of([] { BertImpl bad(tiny_options("nope")); }), "head"));
}

TEST_CASE("bert presets parse and follow the compact grid", "[unit][models][bert]") {
  namespace fs = std::filesystem;
  const std::string dir = std::string(ptm::test::source_dir()) + "/configs/models/";
  int grid = 0;
  for (const int64_t layers : {2, 4, 6, 8, 12})
    for (const int64_t hidden : {128, 256, 512, 768}) {
      const std::string path = dir + "bert_L" + std::to_string(layers) + "_H" + std::to_string(hidden) + ".yaml";
      INFO(path);
      REQUIRE(fs::exists(path));
      CHECK(ptm::test::read_text(path).rfind("# ", 0) == 0);
      const auto n = config::load_recipe(path);
      config::BindContext ctx;
      config::Section s(ctx, n.find("model"), "model", {});
      std::string type;
      s.req("type", type, "type");
      BertOptions o;
      bind_bert(s, o);
      CHECK(ctx.problems().empty());
      CHECK(type == "bert");
      CHECK(o.num_hidden_layers == layers);
      CHECK(o.hidden_size == hidden);
      CHECK(o.num_attention_heads == hidden / 64);
      CHECK(o.intermediate_size == 4 * hidden);
      ++grid;
    }
  CHECK(grid == 20);
  for (const char* name : {"minilm_l6_h384.yaml", "bert_base.yaml"}) {
    INFO(name);
    config::BindContext ctx;
    const auto n = config::load_recipe(dir + name);
    CHECK(static_cast<bool>(parse_model(config::Section(ctx, n.find("model"), "model", {}))));
    CHECK(ctx.problems().empty());
  }
  CHECK(model_registry().find("bert") != nullptr);
}

TEST_CASE("bert FLOPs and summary follow the stated formula", "[unit][models][bert]") {
  BertOptions o;  // the L2/H128 grid point with an MLM head
  o.hidden_size = 128;
  o.num_hidden_layers = 2;
  o.num_attention_heads = 2;
  o.intermediate_size = 512;
  o.head.type = "mlm";
  Bert m(o);
  // per layer 8*128*128^2 + 4*128^2*128 + 4*128*128*512 = 58,720,256; MLM head
  // 2*128*128^2 + 2*128*128*30522 = 1,004,339,200; no pooler.
  CHECK(m->forward_flops(128) == 2.0 * 58720256 + 1004339200);
  const auto blocks = m->summary(128);
  REQUIRE(blocks.size() == 4);
  CHECK(blocks[1].name == "encoder.layer.0");
  CHECK(blocks[1].flops == 58720256.0);
  int64_t params = 0;
  double flops = 0;
  for (const auto& b : blocks) params += b.params, flops += b.flops;
  CHECK(params == count_parameters(*m));
  CHECK(flops == m->forward_flops(128));
  // 30522*128 + 512*128 + 2*128 + 256 embeddings; per layer 4*128^2 + 2*128*512 + 9*128 + 512.
  CHECK(blocks[0].params == 30522 * 128 + 512 * 128 + 2 * 128 + 256);
  CHECK(blocks[1].params == 4 * 128 * 128 + 2 * 128 * 512 + 9 * 128 + 512);
  CHECK(m->hf_config()["architectures"][0] == "BertForMaskedLM");
  CHECK(BertOptions::from_hf_config(m->hf_config()).hidden_size == 128);
}

TEST_CASE("config.json readers take labels from id2label and name the file and every problem", "[unit][models]") {
  const nlohmann::json cls = {{"architectures", {"BertForSequenceClassification"}},
                              {"hidden_size", 128},
                              {"num_attention_heads", 4},
                              {"intermediate_size", 512},
                              {"id2label", {{"0", "a"}, {"1", "b"}, {"2", "c"}}}};
  const auto o = BertOptions::from_hf_config(cls, "cls.json");
  CHECK(o.head.type == "classification");
  CHECK(o.head.num_labels == 3);
  auto bad = cls;
  bad["num_attention_heads"] = 3;
  const auto err = error_of([&] { BertOptions::from_hf_config(bad, "cls.json"); });
  CHECK(contains(err, "cls.json: cannot build a BERT model from this config:\n  num_attention_heads"));
  bad = cls;
  bad["hidden_size"] = "128";
  CHECK(contains(error_of([&] { BertOptions::from_hf_config(bad, "cls.json"); }),
                 "cls.json: 'hidden_size' has the wrong type (\"128\")"));

  const auto vit = ViTOptions::from_hf_config({{"architectures", {"ViTForImageClassification"}}, {"num_labels", 5}});
  CHECK(vit.head == "classification");
  CHECK(vit.num_labels == 5);
  CHECK(ViTOptions::from_hf_config(nlohmann::json::object()).head == "none");

  const auto resnet = error_of([] {
    ResNetOptions::from_hf_config({{"model_type", "torchvision_resnet"}, {"depth", 19}}, "r.json");
  });
  CHECK(contains(resnet, "r.json: cannot build a ResNet from this config:\n  depth: must be one of 18, 34, 50, got 19"));
}

TEST_CASE("bert runs forward and backward on CUDA in bf16 close to fp32 on the CPU", "[gpu][models][bert]") {
  if (!torch::cuda::is_available()) PTM_SKIP("no CUDA device");
  const auto batch = random_batch({128, 77, 100, 31}, 128, 300, 1, 4);
  for (const char* head : {"mlm", "classification"}) {
    for (const bool explicit_attention : {false, true}) {
      INFO(head << ", explicit attention: " << explicit_attention);
      auto o = tiny_options(head);
      o.max_position_embeddings = 128;
      o.hidden_size = 256;
      o.intermediate_size = 1024;
      torch::manual_seed(0);
      Bert cpu(o), gpu(o);
      REQUIRE(gpu->load_hf_state_dict(cpu->hf_state_dict()).ok());
      cpu->eval();
      gpu->eval();  // dropout off on both, so the outputs are comparable
      gpu->to(torch::kCUDA);
      ForwardOptions fo;
      fo.output_attentions = explicit_attention;
      torch::Tensor want;
      {
        torch::NoGradGuard no_grad;
        want = cpu->forward(batch, fo).logits;
      }
      ModelOutput got;
      {
        train::AutocastGuard bf16(torch::kCUDA, "bf16");
        got = gpu->forward(batch.to(torch::kCUDA, false), fo);
      }
      CHECK(got.logits.scalar_type() == torch::kBFloat16);
      const auto got32 = got.logits.to(torch::kCPU, torch::kFloat32);
      const double relative = ((got32 - want).norm() / want.norm()).item<double>();
      INFO("relative error " << relative);
      CHECK(relative <= 0.03);
      got.logits.to(torch::kFloat32).pow(2).mean().backward();
      for (const auto& p : gpu->named_parameters()) {
        INFO(p.key());
        REQUIRE(p.value().grad().defined());
        CHECK(torch::isfinite(p.value().grad()).all().item<bool>());
      }
    }
  }
}
