// Writing a Hugging Face folder: config.json and the weights in the exported naming, as one
// model.safetensors or, above `max_shard_bytes`, shards plus model.safetensors.index.json
// (what save_pretrained writes and from_pretrained reads).
#pragma once
#include <cstddef>
#include <string>

#include "ptm/models/model.h"

namespace ptm::models {

constexpr size_t kHfMaxShardBytes = size_t(5) << 30;  // 5 GiB, a common Hub shard size

// The tensors an export writes: GptImpl::hf_export_state_dict() for GPT models (Llama names
// for the Llama configuration), hf_state_dict() for the others.
NamedTensors hf_export_tensors(const ModelImpl& model);

// Creates `dir`; IoError naming the file on failure.
void save_hf_folder_sharded(const ModelImpl& model, const std::string& dir, size_t max_shard_bytes);

}  // namespace ptm::models
