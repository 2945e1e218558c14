// ViT parity with Hugging Face `transformers` (references from tests/golden/vit_reference.py,
// never from ptm): a random ViTForImageClassification (28x28 grey, patch 7) and a ViTModel with
// pooler, tanh GELU and no qkv bias; ptm's export loaded back bit-identically and by
// transformers with the same logits; FLOPs and parameters against hand-computed values; presets.
#include "ptm/models/vit.h"
#include "bert_test_util.h"
#include "ptm/config/load.h"
#include "ptm/core/errors.h"

using namespace ptm;
using namespace ptm::models;
using ptm::test::bert::load_map;
using ptm::test::bert::max_diff;
using ptm::test::bert::quoted;

namespace {

constexpr double kTol = 1e-4;

void vit_reference(const std::string& args) { ptm::test::bert::run_golden("vit_reference.py", args, "transformers"); }

ViTOptions tiny(const std::string& head = "classification") {
  ViTOptions o;
  o.image_size = 28;
  o.patch_size = 7;
  o.num_channels = 1;
  o.hidden_size = 64;
  o.num_hidden_layers = 3;
  o.num_attention_heads = 4;
  o.intermediate_size = 96;
  o.num_labels = 10;
  o.layer_norm_eps = 1e-6;
  o.head = head;
  return o;
}

std::shared_ptr<ModelImpl> from_preset(const std::string& name) {
  const auto root = config::load_recipe(std::string(ptm::test::source_dir()) + "/configs/models/" + name + ".yaml");
  config::BindContext ctx;
  const auto builder = parse_model(config::Section(ctx, root.find("model"), "model", {}));
  REQUIRE(ctx.problems().empty());
  return builder();
}

}  // namespace

TEST_CASE("vit loads random transformers models with the same outputs", "[unit][models][vit]") {
  ptm::test::TempDir tmp;
  vit_reference("random " + quoted(tmp.path()));
  for (const std::string kind : {"classification", "none"}) {
    INFO(kind);
    const auto model = load_hf_vit(tmp.file(kind));
    CHECK_FALSE(model->is_training());
    CHECK(model->options().head == kind);
    const auto ref = load_map(tmp.file(kind + "/reference.safetensors"));
    CHECK(count_parameters(*model) == ref.at("num_parameters").item<int64_t>());
    data::Batch batch;
    batch.images = ref.at("images");
    torch::NoGradGuard no_grad;
    ForwardOptions fo;
    fo.output_hidden_states = true;
    const auto out = model->forward(batch, fo);
    const double d_main = kind == "classification" ? max_diff(out.logits, ref.at("logits"))
                                                   : max_diff(out.pooled, ref.at("pooler_output"));
    const double d_hidden = max_diff(out.last_hidden, ref.at("last_hidden_state"));
    INFO(kind << " max abs diff: " << (kind == "classification" ? "logits " : "pooler_output ") << d_main
              << ", last_hidden_state " << d_hidden);
    CHECK(d_main <= kTol);
    CHECK(d_hidden <= kTol);
    REQUIRE(out.hidden_states.size() == static_cast<size_t>(model->options().num_hidden_layers + 1));
    CHECK(max_diff(out.hidden_states[1], ref.at("hidden_states.1")) <= kTol);
    if (kind == "classification") CHECK(out.logits.sizes().vec() == std::vector<int64_t>{3, 10});

    fo.output_attentions = true;  // the explicit-softmax path against transformers' eager attention
    const auto with_att = model->forward(batch, fo);
    const double d_att = max_diff(with_att.attentions.back(), ref.at("attentions.last"));
    INFO("attention probabilities max abs diff " << d_att);
    CHECK(d_att <= kTol);
    CHECK(max_diff(with_att.last_hidden, out.last_hidden) <= 1e-5);
  }
}

TEST_CASE("vit export round trips bit-identically and loads in transformers", "[unit][models][vit]") {
  ptm::test::TempDir tmp;
  data::Batch batch;
  batch.images = at::randn({2, 1, 28, 28}, at::make_generator<at::CPUGeneratorImpl>(4));
  save_safetensors(tmp.file("inputs.safetensors"), {{"images", batch.images}});
  torch::manual_seed(1);
  ViT model(tiny());
  ptm::test::bert::perturb(*model, 0.05, 8);
  model->eval();
  const std::string dir = tmp.file("export");
  save_hf_vit(*model, dir);
  const auto back = load_hf_vit(dir);
  const auto mine = model->hf_state_dict(), theirs = back->hf_state_dict();
  REQUIRE(mine.size() == theirs.size());
  CHECK(mine.front().first == "vit.embeddings.cls_token");
  for (size_t k = 0; k < mine.size(); ++k) {
    INFO(mine[k].first);
    CHECK(mine[k].first == theirs[k].first);
    CHECK(torch::equal(mine[k].second, theirs[k].second));
  }
  torch::NoGradGuard no_grad;
  const auto ours = model->forward(batch);
  CHECK(torch::equal(ours.logits, back->forward(batch).logits));

  vit_reference("run " + quoted(tmp.file("inputs.safetensors")) + " " + quoted(dir));
  const auto hf = load_map(dir + "/hf_outputs.safetensors");
  CHECK(count_parameters(*model) == hf.at("num_parameters").item<int64_t>());
  const double d = max_diff(ours.logits, hf.at("logits"));
  const double d_hidden = max_diff(ours.last_hidden, hf.at("last_hidden_state"));
  INFO("transformers on ptm's export: logits max abs diff " << d << ", last_hidden_state " << d_hidden);
  CHECK(d <= kTol);
  CHECK(d_hidden <= kTol);
}

TEST_CASE("vit reports missing and mis-shaped tensors by name", "[unit][models][vit]") {
  ViT model(tiny());
  auto tensors = model->hf_state_dict();
  tensors.erase(tensors.begin());  // vit.embeddings.cls_token
  for (auto& [name, t] : tensors)
    if (name == "classifier.weight") t = torch::zeros({5, 64});
  const auto r = model->load_hf_state_dict(tensors);
  CHECK(r.missing == std::vector<std::string>{"vit.embeddings.cls_token"});
  REQUIRE(r.mismatched.size() == 1);
  CHECK(r.mismatched[0] == "classifier.weight: checkpoint [5, 64] vs model [10, 64]");
  CHECK(r.unexpected.empty());
}

TEST_CASE("vit parameters FLOPs and presets", "[unit][models][vit]") {
  // Hand count for the tiny model: N = 16 patches, T = 17, H = 64, I = 96, L = 3.
  ViT model(tiny());
  const int64_t H = 64, I = 96, N = 16;
  const int64_t embed = H + (N + 1) * H + (49 * H + H);
  const int64_t layer = 4 * (H * H + H) + (H * I + I) + (I * H + H) + 4 * H;
  CHECK(count_parameters(*model) == embed + 3 * layer + 2 * H + (H * 10 + 10));
  const double T = 17;
  const double flops = 2.0 * N * 49 * H + 3 * (8 * T * H * H + 4 * T * T * H + 4 * T * H * I) + 2.0 * H * 10;
  CHECK(model->forward_flops(0) == Approx(flops));
  double sum = 0;
  for (const auto& b : model->summary(0)) sum += b.flops;
  CHECK(sum == Approx(flops));

  // Published sizes: ViT-Ti/16 5.7M, ViT-S/16 22.1M, ViT-B/16 86.6M parameters (1000 classes).
  const std::vector<std::pair<std::string, double>> presets = {
      {"vit_tiny", 5.717e6}, {"vit_small", 22.05e6}, {"vit_base", 86.57e6}};
  for (const auto& [name, params] : presets) {
    INFO(name);
    const auto m = from_preset(name);
    CHECK(std::abs(count_parameters(*m) / params - 1.0) < 0.002);
  }
  const auto fm = from_preset("vit_fashion_mnist");
  data::Batch batch;
  batch.images = torch::randn({2, 1, 28, 28});
  torch::NoGradGuard no_grad;
  CHECK(fm->forward(batch).logits.sizes().vec() == std::vector<int64_t>{2, 10});
  batch.images = torch::randn({2, 1, 32, 32});
  CHECK(ptm::test::contains(ptm::test::error_of([&] { fm->forward(batch); }), "image_size"));

  const auto node = config::parse_yaml("type: vit\nimage_size: 30\npatch_size: 7\nhead: clasification\n", "m.yaml");
  config::BindContext ctx;
  parse_model(config::Section(ctx, &node, "model", {}));
  std::string problems;
  for (const auto& p : ctx.problems()) problems += p.path + ": " + p.message + "\n";
  CHECK(ptm::test::contains(problems, "model.patch_size: must divide image_size (30), got 7"));
  CHECK(ptm::test::contains(problems, "model.head: 'clasification' is not one of"));
}
