// ResNet 18/34/50 (registry name `resnet`) with torchvision's architecture and state-dict names
// (`conv1`, `bn1`, `layer{1..4}.{i}.conv1/bn1/...`, `.downsample.0/.1`, `fc`): BasicBlock for 18/34,
// Bottleneck (stride on the 3x3, "v1.5") for 50, BatchNorm with running statistics as buffers.
// Options for small grey images (Fashion-MNIST): `in_channels` and `small_input` (3x3 stride-1
// stem, no max-pool). torchvision has no config.json: export writes
// {"model_type": "torchvision_resnet", "depth", "num_classes", ...} next to the weights, which load
// with torchvision.models.resnetNN(num_classes=...).load_state_dict(load_file(...)).
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ptm/models/model.h"

namespace ptm::models {

struct ResNetOptions {
  int64_t depth = 18;  // 18 | 34 (BasicBlock) | 50 (Bottleneck)
  int64_t num_classes = 1000;
  int64_t in_channels = 3;   // 1 for grey images: conv1 then takes one channel
  bool small_input = false;  // 3x3 stride-1 conv1 and no max-pool (28x28 / 32x32 images)
  int64_t image_size = 224;  // input height = width, only for the FLOPs count (any size runs)
  int64_t base_planes = 64;  // stem and first-stage width, doubled per stage (torchvision: 64)

  bool bottleneck() const { return depth == 50; }
  int64_t expansion() const { return bottleneck() ? 4 : 1; }
  std::vector<int64_t> blocks() const;                    // blocks per stage: 18 {2,2,2,2}, 34/50 {3,4,6,3}
  int64_t features() const { return 8 * base_planes * expansion(); }  // width of the pooled features

  std::vector<std::pair<std::string, std::string>> problems() const;  // (key, message)
  static ResNetOptions from_hf_config(const nlohmann::json& config, const std::string& source = "config.json");
  nlohmann::json to_hf_config() const;
};

// conv3x3 -> bn -> relu -> conv3x3 -> bn, + identity or downsample, -> relu.
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in, int64_t planes, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);  // [B, in, H, W] -> [B, planes, H/s, W/s]

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Sequential downsample_{nullptr};  // conv1x1 + bn when the shape changes
};
TORCH_MODULE(BasicBlock);

// conv1x1 -> bn -> relu -> conv3x3 (stride) -> bn -> relu -> conv1x1 (x4) -> bn, + shortcut, -> relu.
class BottleneckImpl : public torch::nn::Module {
 public:
  BottleneckImpl(int64_t in, int64_t planes, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);  // [B, in, H, W] -> [B, 4*planes, H/s, W/s]

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  torch::nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(Bottleneck);

class ResNetImpl : public ModelImpl {
 public:
  explicit ResNetImpl(const ResNetOptions& o);  // ConfigError when the options are inconsistent

  // images [B, C, H, W] -> logits [B, num_classes], pooled (= last_hidden) [B, features];
  // hidden_states: the stem output, then each stage's feature map.
  ModelOutput forward(const data::Batch& batch, const ForwardOptions& options = {}) override;
  std::string arch() const override { return "resnet"; }
  // FLOPs = 2 x MACs of every convolution and of fc for an image_size x image_size input;
  // BatchNorm, ReLU, pooling and the residual additions are not counted.
  double forward_flops(int64_t seq_len) const override;
  std::vector<BlockSummary> summary(int64_t seq_len) const override;
  nlohmann::json hf_config() const override { return o_.to_hf_config(); }
  const ResNetOptions& options() const { return o_; }

 private:
  ResNetOptions o_;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  std::vector<torch::nn::Sequential> stages_;  // layer1..layer4
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(ResNet);

ModelFactory resnet_factory();

// A folder with config.json (model_type torchvision_resnet) and model.safetensors in
// torchvision names; every missing, unexpected or mis-shaped tensor is an IoError. Eval mode.
std::shared_ptr<ResNetImpl> load_hf_resnet(const std::string& dir);
void save_hf_resnet(const ResNetImpl& model, const std::string& dir);

}  // namespace ptm::models
