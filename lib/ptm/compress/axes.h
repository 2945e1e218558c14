// Prunable axes, declared once per architecture: what a unit (an attention head, an FFN
// neuron) is and every tensor it occupies, so a unit is always removed from all of them
// together. Unit u of a layer occupies, in each coupled tensor, the indices
// offset + u * width ... offset + (u + 1) * width - 1 along `dim`, for each of its offsets
// (q, k and v blocks of a fused projection; gate and up halves of SwiGLU).
//   gpt  heads    attn.c_attn.{weight,bias} rows (q, k, v of the head), attn.c_proj.weight columns
//        neurons  mlp.c_fc.{weight,bias} rows (gate and up with SwiGLU), mlp.c_proj.weight columns
//   bert heads    attention.self.{query,key,value}.{weight,bias} rows, attention.output.dense.weight columns
//        neurons  intermediate.dense.{weight,bias} rows, output.dense.weight columns
//   vit  heads    attention.attention.{query,key,value}.{weight,bias} rows, attention.output.dense.weight columns
//        neurons  as bert
// Grouped-query GPTs declare no heads axis yet (a unit would be a whole key/value group).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ptm/models/model.h"

namespace ptm::compress {

struct Coupling {
  std::string tensor;  // parameter name in the model ("transformer.h.0.attn.c_attn.weight")
  int64_t dim = 0;
  std::vector<int64_t> offsets{0};
  int64_t width = 1;
  bool scored = false;  // a Linear weight the criterion scores (biases follow their rows)
};

struct AxisLayer {
  int64_t units = 0;
  std::vector<Coupling> tensors;
};

struct PrunableAxis {
  std::string name;  // "heads", "neurons"
  std::string unit;  // "head", "neuron" (for messages)
  std::vector<AxisLayer> layers;
};

// The axes the model declares (empty for architectures that declare none yet).
std::vector<PrunableAxis> prunable_axes(const models::ModelImpl& model);

// Indices along the coupling's dim occupied by `units` (in order: offset-major, then unit).
torch::Tensor unit_indices(const Coupling& c, const std::vector<int64_t>& units);

// Units kept per axis name and layer (ascending indices). The entry "layers", when present,
// holds one list: the layers that stay (shrink() removes the others whole).
using KeptUnits = std::map<std::string, std::vector<std::vector<int64_t>>>;

// A new, physically smaller model holding only the kept units, with the options that rebuild
// it (the `model:` keys to write into config.yaml: head_size, the layer count, layer_heads,
// layer_inner). RuntimeError for architectures without axes.
struct Shrunk {
  std::shared_ptr<models::ModelImpl> model;
  std::map<std::string, std::vector<int64_t>> list_options;  // "layer_heads" -> [..]
  std::map<std::string, int64_t> int_options;                // "head_size" -> 64
};
Shrunk shrink(models::ModelImpl& model, const KeptUnits& kept);

}  // namespace ptm::compress
