// ResNet parity with torchvision (references from tests/golden/resnet_reference.py, never from
// ptm): random resnet18 (7 classes) in eval and train mode, a small-input 1-channel resnet50
// (Bottleneck), ptm's export loaded back bit-identically and by torchvision with the same
// logits; parameter counts and FLOPs against torchvision's published numbers; option checks.
#include "ptm/models/resnet.h"
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

void resnet_reference(const std::string& args) {
  ptm::test::bert::run_golden("resnet_reference.py", args, "torchvision");
}

// Loads the torchvision model NAME and checks eval logits, then (where the reference has them)
// train-mode logits and the running statistics that one train-mode forward leaves.
void check_against_torchvision(const std::string& name, const std::vector<int64_t>& logits_shape) {
  ptm::test::TempDir tmp;
  resnet_reference("random " + name + " " + quoted(tmp.path()));
  const std::string dir = tmp.file(name);
  const auto model = load_hf_resnet(dir);
  CHECK_FALSE(model->is_training());
  const auto ref = load_map(dir + "/reference.safetensors");
  CHECK(count_parameters(*model) == ref.at("num_parameters").item<int64_t>());
  data::Batch batch;
  batch.images = ref.at("images");
  torch::NoGradGuard no_grad;
  const auto eval_out = model->forward(batch);
  CHECK(eval_out.logits.sizes().vec() == logits_shape);
  const double d_eval = max_diff(eval_out.logits, ref.at("logits_eval"));
  INFO(name << " eval logits max abs diff " << d_eval);
  CHECK(d_eval <= kTol);
  if (!ref.count("logits_train")) return;
  model->train();
  const auto train_out = model->forward(batch);
  const double d_train = max_diff(train_out.logits, ref.at("logits_train"));
  INFO(name << " train-mode logits max abs diff " << d_train);
  CHECK(d_train <= kTol);
  std::map<std::string, torch::Tensor> buffers;
  for (const auto& b : model->named_buffers()) buffers[b.key()] = b.value();
  CHECK(max_diff(buffers.at("bn1.running_mean"), ref.at("bn1.running_mean")) <= 1e-5);
  CHECK(max_diff(buffers.at("layer1.0.bn1.running_var"), ref.at("layer1.0.bn1.running_var")) <= 1e-5);
  CHECK(buffers.at("bn1.num_batches_tracked").item<int64_t>() == 4);  // 3 in the file + this forward
}

ResNetOptions bind_yaml(const std::string& yaml, std::string* problems = nullptr) {
  const auto node = config::parse_yaml(yaml, "model.yaml");
  config::BindContext ctx;
  const auto builder = parse_model(config::Section(ctx, &node, "model", {}));
  std::string out;
  for (const auto& p : ctx.problems()) out += p.path + ": " + p.message + "\n";
  if (problems) *problems = out;
  if (!out.empty()) return {};
  const auto model = builder();
  return dynamic_cast<const ResNetImpl&>(*model).options();
}

}  // namespace

TEST_CASE("resnet18 matches torchvision in eval and train mode", "[unit][models][resnet]") {
  check_against_torchvision("resnet18", {3, 7});
}

// Bottleneck blocks; eval mode only (train mode, the same BatchNorm code, is checked on resnet18).
TEST_CASE("resnet50 small-input grey matches torchvision", "[unit][models][resnet]") {
  check_against_torchvision("resnet50_small", {2, 10});
}

TEST_CASE("resnet export round trips bit-identically and loads in torchvision", "[unit][models][resnet]") {
  ptm::test::TempDir tmp;
  ResNetOptions o;
  o.depth = 18;
  o.num_classes = 10;
  o.in_channels = 1;
  o.small_input = true;
  o.image_size = 28;
  torch::manual_seed(3);
  ResNet model(o);
  {
    torch::NoGradGuard no_grad;
    ptm::test::bert::perturb(*model, 0.05, 5);
    for (auto& b : model->named_buffers())
      if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 1.5);
  }
  model->eval();
  const std::string dir = tmp.file("export");
  save_hf_resnet(*model, dir);
  const auto config = nlohmann::json::parse(ptm::test::read_text(dir + "/config.json"));
  CHECK(config.at("model_type") == "torchvision_resnet");
  CHECK(config.at("depth") == 18);
  CHECK(config.at("num_classes") == 10);

  const auto back = load_hf_resnet(dir);
  const auto mine = model->hf_state_dict(), theirs = back->hf_state_dict();
  REQUIRE(mine.size() == theirs.size());
  for (size_t k = 0; k < mine.size(); ++k) {
    INFO(mine[k].first);
    CHECK(mine[k].first == theirs[k].first);
    CHECK(torch::equal(mine[k].second, theirs[k].second));
  }
  data::Batch batch;
  batch.images = at::randn({2, 1, 28, 28}, at::make_generator<at::CPUGeneratorImpl>(9));
  save_safetensors(tmp.file("inputs.safetensors"), {{"images", batch.images}});
  torch::NoGradGuard no_grad;
  const auto ours = model->forward(batch);
  CHECK(torch::equal(ours.logits, back->forward(batch).logits));
  CHECK(ours.pooled.sizes().vec() == std::vector<int64_t>{2, 512});

  resnet_reference("run " + quoted(tmp.file("inputs.safetensors")) + " " + quoted(dir));
  const auto tv = load_map(dir + "/tv_outputs.safetensors");
  CHECK(count_parameters(*model) == tv.at("num_parameters").item<int64_t>());
  const double d = max_diff(ours.logits, tv.at("logits"));
  INFO("torchvision on ptm's export: logits max abs diff " << d);
  CHECK(d <= kTol);
}

TEST_CASE("resnet parameters and FLOPs match torchvision's published numbers", "[unit][models][resnet]") {
  // torchvision model cards: parameters, and GFLOPS (multiply-accumulates) at 224x224.
  const std::vector<std::tuple<int64_t, int64_t, double>> cards = {
      {18, 11689512, 1.814}, {34, 21797672, 3.664}, {50, 25557032, 4.089}};
  for (const auto& [depth, params, gmacs] : cards) {
    INFO("resnet" << depth);
    ResNetOptions o;
    o.depth = depth;
    ResNet model(o);
    CHECK(count_parameters(*model) == params);
    CHECK(std::abs(model->forward_flops(0) / 2e9 - gmacs) < 0.01);
    double sum = 0;
    int64_t block_params = 0;
    for (const auto& b : model->summary(0)) {
      sum += b.flops;
      block_params += b.params;
    }
    CHECK(sum == Approx(model->forward_flops(0)));
    CHECK(block_params == params);
  }
}

TEST_CASE("resnet options bind from YAML and presets and report bad values", "[unit][models][resnet]") {
  const auto o = bind_yaml("type: resnet\ndepth: 50\nnum_classes: 5\nin_channels: 1\nsmall_input: true\n");
  CHECK(o.depth == 50);
  CHECK(o.num_classes == 5);
  CHECK(o.in_channels == 1);
  CHECK(o.small_input);
  std::string problems;
  bind_yaml("type: resnet\ndepth: 20\nnum_classes: 0\nwidth: 3\n", &problems);
  CHECK(ptm::test::contains(problems, "model.depth: must be one of 18, 34, 50, got 20"));
  CHECK(ptm::test::contains(problems, "model.num_classes"));
  CHECK(ptm::test::contains(problems, "model.width"));

  const std::string dir = std::string(ptm::test::source_dir()) + "/configs/models/";
  const std::vector<std::pair<std::string, int64_t>> presets = {
      {"resnet18", 11689512}, {"resnet34", 21797672}, {"resnet50", 25557032}};
  for (const auto& [name, params] : presets) {
    INFO(name);
    const auto root = config::load_recipe(dir + name + ".yaml");
    config::BindContext ctx;
    const auto builder = parse_model(config::Section(ctx, root.find("model"), "model", {}));
    REQUIRE(ctx.problems().empty());
    CHECK(count_parameters(*builder()) == params);
  }
  const auto root = config::load_recipe(dir + "resnet18_fashion_mnist.yaml");
  config::BindContext ctx;
  const auto builder = parse_model(config::Section(ctx, root.find("model"), "model", {}));
  REQUIRE(ctx.problems().empty());
  const auto model = builder();
  const auto& fm = dynamic_cast<const ResNetImpl&>(*model).options();
  CHECK(fm.in_channels == 1);
  CHECK(fm.small_input);
  CHECK(fm.num_classes == 10);
  data::Batch batch;
  batch.images = torch::randn({2, 1, 28, 28});
  torch::NoGradGuard no_grad;
  CHECK(model->forward(batch).logits.sizes().vec() == std::vector<int64_t>{2, 10});
  batch.images = torch::randn({2, 3, 28, 28});
  CHECK(ptm::test::contains(ptm::test::error_of([&] { model->forward(batch); }), "in_channels 1"));
}
