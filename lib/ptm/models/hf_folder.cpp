// Writing a Hugging Face folder (hf_folder.h).
#include "ptm/models/hf_folder.h"

#include <filesystem>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/models/gpt.h"
#include "ptm/models/low_rank.h"

namespace ptm::models {

NamedTensors hf_export_tensors(const ModelImpl& model) {
  require_unfactorised(model);
  if (const auto* gpt = dynamic_cast<const GptImpl*>(&model)) return gpt->hf_export_state_dict();
  return model.hf_state_dict();
}

void save_hf_folder_sharded(const ModelImpl& model, const std::string& dir, size_t max_shard_bytes) {
  require_unfactorised(model);  // before anything is written
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw IoError(dir + ": cannot create the folder (" + ec.message() + ")");
  fs_util::write_file_atomic(dir + "/config.json", model.hf_config().dump(2) + "\n");
  save_sharded(dir, hf_export_tensors(model), max_shard_bytes);
}

}  // namespace ptm::models
