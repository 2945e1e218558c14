// ResNet: options (checks, binding, config.json in and out), the two residual blocks, the
// network with torchvision's names and initialisation, analytic FLOPs, the per-block summary,
// folders in and out, and the `resnet` registry entry.
#include "ptm/models/resnet.h"

#include <filesystem>
#include <fstream>

#include "ptm/core/errors.h"
#include "ptm/models/config_json.h"
#include "ptm/models/zoo.h"

namespace ptm::models {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(false));
}

// torchvision's shortcut when the shape changes: `downsample.0` conv1x1 (stride), `.1` BatchNorm.
nn::Sequential shortcut(int64_t in, int64_t out, int64_t stride) {
  if (stride == 1 && in == out) return nullptr;
  return nn::Sequential(conv(in, out, 1, stride), nn::BatchNorm2d(out));
}

int64_t conv_out(int64_t size, int64_t k, int64_t stride) { return (size + 2 * (k / 2) - k) / stride + 1; }


// Forward MACs-based FLOPs per named block: "conv1" (stem), "layerS.i" for every block, "fc".
std::vector<BlockSummary> flops_by_block(const ResNetOptions& o) {
  std::vector<BlockSummary> out;
  int64_t s = o.image_size;
  const int64_t k = o.small_input ? 3 : 7, stride = o.small_input ? 1 : 2;
  s = conv_out(s, k, stride);
  out.push_back({"conv1", 0, 2.0 * o.base_planes * o.in_channels * k * k * s * s});
  if (!o.small_input) s = (s + 2 - 3) / 2 + 1;  // max-pool 3x3 stride 2 padding 1
  int64_t in = o.base_planes;
  const auto blocks = o.blocks();
  for (size_t stage = 0; stage < 4; ++stage) {
    const int64_t planes = o.base_planes << stage, width = planes * o.expansion();
    for (int64_t i = 0; i < blocks[stage]; ++i) {
      const int64_t st = (stage > 0 && i == 0) ? 2 : 1;
      const double hw_in = double(s) * s;
      const int64_t so = conv_out(s, 3, st);
      const double hw = double(so) * so;
      double macs = 0;
      if (o.bottleneck())
        macs = planes * in * hw_in + planes * planes * 9 * hw + width * planes * hw;
      else
        macs = planes * in * 9 * hw + planes * planes * 9 * hw;
      if (st != 1 || in != width) macs += width * in * hw;
      out.push_back({"layer" + std::to_string(stage + 1) + "." + std::to_string(i), 0, 2 * macs});
      in = width;
      s = so;
    }
  }
  out.push_back({"fc", 0, 2.0 * in * o.num_classes});
  return out;
}

}  // namespace

std::vector<int64_t> ResNetOptions::blocks() const {
  if (depth == 18) return {2, 2, 2, 2};
  return {3, 4, 6, 3};  // 34 and 50
}

std::vector<std::pair<std::string, std::string>> ResNetOptions::problems() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (depth != 18 && depth != 34 && depth != 50)
    out.emplace_back("depth", "must be one of 18, 34, 50, got " + std::to_string(depth));
  if (num_classes < 1) out.emplace_back("num_classes", "must be >= 1, got " + std::to_string(num_classes));
  if (in_channels < 1) out.emplace_back("in_channels", "must be >= 1, got " + std::to_string(in_channels));
  if (image_size < 8) out.emplace_back("image_size", "must be >= 8, got " + std::to_string(image_size));
  return out;
}

ResNetOptions ResNetOptions::from_hf_config(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw IoError(source + ": not a JSON object");
  const auto type = j.value("model_type", std::string());
  if (type != "torchvision_resnet")
    throw IoError(source + ": model_type '" + type + "' is not a torchvision ResNet (expected torchvision_resnet)");
  ResNetOptions o;
  o.depth = json_value(j, "depth", o.depth, source);
  o.num_classes = json_value(j, "num_classes", o.num_classes, source);
  o.in_channels = json_value(j, "in_channels", o.in_channels, source);
  o.small_input = json_value(j, "small_input", o.small_input, source);
  o.image_size = json_value(j, "image_size", o.image_size, source);
  o.base_planes = json_value(j, "base_planes", o.base_planes, source);
  check_buildable(o.problems(), source, "a ResNet");
  return o;
}

nlohmann::json ResNetOptions::to_hf_config() const {
  return {{"model_type", "torchvision_resnet"},
          {"architectures", {"resnet" + std::to_string(depth)}},  // the torchvision constructor
          {"depth", depth},
          {"num_classes", num_classes},
          {"in_channels", in_channels},
          {"small_input", small_input},
          {"image_size", image_size},
          {"base_planes", base_planes}};
}

BasicBlockImpl::BasicBlockImpl(int64_t in, int64_t planes, int64_t stride) {
  conv1_ = register_module("conv1", conv(in, planes, 3, stride));
  bn1_ = register_module("bn1", nn::BatchNorm2d(planes));
  conv2_ = register_module("conv2", conv(planes, planes, 3, 1));
  bn2_ = register_module("bn2", nn::BatchNorm2d(planes));
  if (auto d = shortcut(in, planes, stride)) downsample_ = register_module("downsample", d);
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  auto h = torch::relu(bn1_(conv1_(x)));  // [B, planes, H/s, W/s]
  h = bn2_(conv2_(h));                    // [B, planes, H/s, W/s]
  return torch::relu(h + (downsample_ ? downsample_->forward(x) : x));
}

BottleneckImpl::BottleneckImpl(int64_t in, int64_t planes, int64_t stride) {
  conv1_ = register_module("conv1", conv(in, planes, 1, 1));
  bn1_ = register_module("bn1", nn::BatchNorm2d(planes));
  conv2_ = register_module("conv2", conv(planes, planes, 3, stride));
  bn2_ = register_module("bn2", nn::BatchNorm2d(planes));
  conv3_ = register_module("conv3", conv(planes, planes * 4, 1, 1));
  bn3_ = register_module("bn3", nn::BatchNorm2d(planes * 4));
  if (auto d = shortcut(in, planes * 4, stride)) downsample_ = register_module("downsample", d);
}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& x) {
  auto h = torch::relu(bn1_(conv1_(x)));  // [B, planes, H, W]
  h = torch::relu(bn2_(conv2_(h)));       // [B, planes, H/s, W/s]
  h = bn3_(conv3_(h));                    // [B, 4*planes, H/s, W/s]
  return torch::relu(h + (downsample_ ? downsample_->forward(x) : x));
}

ResNetImpl::ResNetImpl(const ResNetOptions& o) : o_(o) {
  const auto problems = o.problems();
  if (!problems.empty()) {
    std::vector<Diagnostic> d;
    for (const auto& [key, what] : problems) d.push_back({Origin{"resnet options", 0, 0}, key, what});
    throw ConfigError(d);
  }
  const int64_t stem = o.base_planes;
  conv1_ = register_module("conv1", o.small_input ? conv(o.in_channels, stem, 3, 1) : conv(o.in_channels, stem, 7, 2));
  bn1_ = register_module("bn1", nn::BatchNorm2d(stem));
  int64_t in = stem;
  const auto blocks = o.blocks();
  for (size_t stage = 0; stage < 4; ++stage) {
    const int64_t planes = stem << stage;
    nn::Sequential seq;
    for (int64_t i = 0; i < blocks[stage]; ++i) {
      const int64_t stride = (stage > 0 && i == 0) ? 2 : 1;
      if (o.bottleneck())
        seq->push_back(Bottleneck(in, planes, stride));
      else
        seq->push_back(BasicBlock(in, planes, stride));
      in = planes * o.expansion();
    }
    stages_.push_back(register_module("layer" + std::to_string(stage + 1), seq));
  }
  fc_ = register_module("fc", nn::Linear(in, o.num_classes));
  // torchvision: Kaiming-normal (fan_out, relu) convolutions, BatchNorm 1/0, fc as nn.Linear.
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters())
    if (p.value().dim() == 4) nn::init::kaiming_normal_(p.value(), 0.0, torch::kFanOut, torch::kReLU);
}

ModelOutput ResNetImpl::forward(const data::Batch& batch, const ForwardOptions& options) {
  const auto& x = batch.images;  // [B, C, H, W]
  if (!x.defined() || x.dim() != 4 || x.size(1) != o_.in_channels)
    throw RuntimeError("resnet: the batch needs images of shape [B, " + std::to_string(o_.in_channels) +
                       ", H, W] (in_channels " + std::to_string(o_.in_channels) + ")");
  ModelOutput out;
  auto h = torch::relu(bn1_(conv1_(x)));                   // [B, 64, H/2, W/2] (small_input: [B, 64, H, W])
  if (!o_.small_input) h = torch::max_pool2d(h, 3, 2, 1);  // [B, 64, H/4, W/4]
  if (options.output_hidden_states) out.hidden_states.push_back(h);
  for (auto& stage : stages_) {
    h = stage->forward(h);  // [B, 64*2^s*expansion, ., .]
    if (options.output_hidden_states) out.hidden_states.push_back(h);
  }
  out.pooled = h.mean({2, 3});  // [B, features], global average pool
  out.last_hidden = out.pooled;
  out.logits = fc_(out.pooled);  // [B, num_classes]
  return out;
}

double ResNetImpl::forward_flops(int64_t) const {
  double total = 0;
  for (const auto& b : flops_by_block(o_)) total += b.flops;
  return total;
}

std::vector<BlockSummary> ResNetImpl::summary(int64_t) const {
  auto out = flops_by_block(o_);
  out[0].name = "conv1+bn1";
  out[0].params = count_parameters(*conv1_) + count_parameters(*bn1_);
  size_t k = 1;
  for (const auto& stage : stages_)
    for (size_t i = 0; i < stage->size(); ++i) out[k++].params = count_parameters(*stage->ptr(i));
  out[k].params = count_parameters(*fc_);
  return out;
}

std::shared_ptr<ResNetImpl> load_hf_resnet(const std::string& dir) {
  const std::string config_path = dir + "/config.json";
  std::ifstream in(config_path);
  if (!in) throw IoError(config_path + ": cannot be read (a ResNet folder needs config.json and model.safetensors)");
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw IoError(config_path + ": not valid JSON (" + e.what() + ")");
  }
  auto model = std::make_shared<ResNetImpl>(ResNetOptions::from_hf_config(config, config_path));
  const LoadReport r = model->load_hf_state_dict(load_safetensors(dir), /*strict=*/true);
  if (!r.ok()) throw IoError(dir + ": the weights do not fit the ResNet that config.json describes:\n" + r.str());
  model->eval();
  return model;
}

void save_hf_resnet(const ResNetImpl& model, const std::string& dir) { save_hf_folder(model, dir); }

ModelFactory resnet_factory() {
  return [](config::Section& s) -> ModelBuilder {
    ResNetOptions o;
    const bool depth_ok = s.opt("depth", o.depth, "18 | 34 (BasicBlock) | 50 (Bottleneck)").ok();
    s.opt("num_classes", o.num_classes, "classes of the fc head").min(1);
    s.opt("in_channels", o.in_channels, "image channels (1 for grey images)").min(1);
    s.opt("small_input", o.small_input, "3x3 stride-1 stem without max-pool, for 28x28/32x32 images");
    s.opt("image_size", o.image_size, "input height = width, for the FLOPs count").min(8);
    s.opt("base_planes", o.base_planes, "stem and first-stage channels, doubled per stage (torchvision: 64)").min(1);
    s.finish();
    if (depth_ok && o.depth != 18 && o.depth != 34 && o.depth != 50)
      s.problem("depth", "must be one of 18, 34, 50, got " + std::to_string(o.depth));
    return [o] { return std::make_shared<ResNetImpl>(o); };
  };
}

void register_resnet(Registry<ModelFactory>& r) {
  r.add("resnet", "ResNet 18/34/50 (torchvision names; BasicBlock/Bottleneck, BatchNorm), small_input for 28x28",
        resnet_factory());
}

}  // namespace ptm::models
