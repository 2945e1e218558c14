// Factorised Linear layers (ptm prune granularity low_rank; model.low_rank in a config): a
// Linear whose weight W [out, in] is stored as two Linears, `v` [r, in] without bias, then `u`
// [out, r] with the layer's bias, so y = u(v(x)) = U V x + b holds r (in + out) weights instead
// of in * out. The layer keeps its name, options and hooks (LoRA on a factorised layer still
// applies); its own `weight` and `bias` are unregistered and left undefined, so code that reads
// them checks is_factorised() first. A model records its factorised layers in its config as
//   model:
//     low_rank: {encoder.layer.0.intermediate.dense: 96, ...}   # module name: rank
// which parse_model applies to the freshly built model, so ptm eval, finetune, bench and
// init_from rebuild the same shapes.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>

#include "ptm/core/errors.h"
#include "ptm/models/linear.h"

namespace ptm::models {

bool is_factorised(const LinearImpl& lin);

// The rank r of a factorised layer; 0 for a dense one.
int64_t factorised_rank(const LinearImpl& lin);

// Stores `lin` as u [out, r] (taking the bias) after v [r, in]: the values are copied into new
// parameters on the layer's device and dtype. RuntimeError when the layer is already
// factorised or the shapes do not fit.
void factorise(LinearImpl& lin, const torch::Tensor& u, const torch::Tensor& v);

// u(v(x)) of a factorised layer (LinearImpl::forward calls it when `weight` is undefined).
torch::Tensor factorised_forward(LinearImpl& lin, const torch::Tensor& x);

// The rank-r truncated SVD of w [out, in]: (U_r S_r [out, r], V_r^T [r, in]) in float32, so
// that their product is the best rank-r approximation of w (Eckart-Young). 1 <= r <= min(out, in).
std::pair<torch::Tensor, torch::Tensor> truncated_svd(const torch::Tensor& w, int64_t rank);

// The factorised layers of a model: module name -> rank.
std::map<std::string, int64_t> low_rank_layers(const torch::nn::Module& model);

// ConfigError (naming model.low_rank) when the model has factorised layers: Hugging Face
// exports refuse them, as transformers has no two-factor Linear.
void require_unfactorised(const torch::nn::Module& model);

// Factorises the named Linear layers of a freshly built model into the rank-r truncation of
// their current weights (model.low_rank). ConfigError naming model.low_rank.<name> when the
// name is not a Linear of the model or the rank is not in [1, min(in, out)].
void apply_low_rank(torch::nn::Module& model, const std::map<std::string, int64_t>& ranks,
                    const std::map<std::string, Origin>& origins = {});

}  // namespace ptm::models
