// Elastic sub-networks (ptm nas): a forward pass through part of each layer of a model, the
// first `heads` attention heads and the first `inner` MLP neurons, or none of the layer. The
// part is a slice of the shared weights, so sub-networks train together (weight sharing) and
// a slice equals the physically smaller model that compress::shrink() builds from the same
// first units.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ptm::models {

class ModelImpl;

struct SubnetLayer {
  int64_t heads = 0;  // both 0: the layer is skipped (the residual stream passes through)
  int64_t inner = 0;
  bool skipped() const { return heads == 0 && inner == 0; }
};
using Subnet = std::vector<SubnetLayer>;  // one entry per layer; empty: the whole model

// Every later forward pass of `model` runs `subnet` (gpt, bert, vit). RuntimeError naming the layer
// for a size outside the model's, and for models without elastic support (naming the architecture).
void set_subnet(ModelImpl& model, const Subnet& subnet);

// The checks every architecture makes of a non-empty `subnet` of a model whose layers have the
// sizes `full`: one entry per layer, sizes in [1, full], not every layer skipped. RuntimeError
// naming the sub-network and the layer.
void check_subnet(const Subnet& subnet, const Subnet& full);

// The whole model's sizes as a Subnet (what set_subnet({}) runs); RuntimeError as above.
Subnet full_subnet(const ModelImpl& model);

// Parameters of the model that runs only `subnet` (what compress::shrink would build).
int64_t subnet_parameters(const ModelImpl& model, const Subnet& subnet);

// "12/3072,8/2048,-" (ptm nas's genome notation).
std::string subnet_string(const Subnet& subnet);

}  // namespace ptm::models
