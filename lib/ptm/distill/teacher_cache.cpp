// The content-keyed teacher-logit cache (see teacher_cache.h).
#include "ptm/distill/teacher_cache.h"

#include <filesystem>

#include "ptm/core/errors.h"
#include "ptm/core/log.h"
#include "ptm/models/safetensors.h"

namespace ptm::distill {
namespace {
constexpr int64_t kSaveEvery = 1024;  // rows added between saves
}

TeacherCache::TeacherCache(std::string path, std::string teacher) : path_(std::move(path)), teacher_(std::move(teacher)) {
  if (!std::filesystem::exists(path_)) return;
  const models::SafetensorsFile f(path_);
  const auto it = f.metadata().find("teacher");
  if (it == f.metadata().end() || it->second != teacher_ || !f.find("keys") || !f.find("logits")) {
    log::warn("teacher cache " + path_ + " was written for another teacher; starting it afresh");
    return;
  }
  const auto keys = f.tensor("keys").contiguous();
  const auto logits = f.tensor("logits").to(torch::kFloat32).contiguous();  // [N, C]
  classes_ = logits.size(1);
  for (int64_t i = 0; i < keys.size(0); ++i) {
    const float* row = logits.data_ptr<float>() + i * classes_;
    rows_[static_cast<uint64_t>(keys.data_ptr<int64_t>()[i])] = std::vector<float>(row, row + classes_);
  }
  log::info("teacher cache " + path_ + ": " + std::to_string(rows_.size()) + " examples");
}

TeacherCache::~TeacherCache() {
  try {
    if (unsaved_ > 0) save();
  } catch (const std::exception& e) {
    log::warn(std::string("teacher cache not saved: ") + e.what());
  }
}

std::vector<uint64_t> TeacherCache::keys(const data::Batch& b) {
  if (!b.input_ids.defined()) throw ConfigError(Origin{}, "objective.cache", "caches examples of token inputs only");
  const auto ids = b.input_ids.to(torch::kCPU, torch::kInt64).contiguous();  // [B, T]
  const auto mask = b.attention_mask.defined() ? b.attention_mask.to(torch::kCPU, torch::kInt64).contiguous()
                                               : torch::ones_like(ids);
  const auto types = b.token_type_ids.defined() ? b.token_type_ids.to(torch::kCPU, torch::kInt64).contiguous()
                                                : torch::zeros_like(ids);
  const int64_t B = ids.size(0), T = ids.size(1);
  std::vector<uint64_t> out;
  for (int64_t i = 0; i < B; ++i) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a, 64 bit
    const auto mix = [&h](uint64_t v) {
      for (int byte = 0; byte < 8; ++byte) {
        h ^= (v >> (8 * byte)) & 0xff;
        h *= 1099511628211ull;
      }
    };
    for (int64_t t = 0; t < T; ++t) {
      if (mask.data_ptr<int64_t>()[i * T + t] == 0) continue;
      mix(static_cast<uint64_t>(ids.data_ptr<int64_t>()[i * T + t]));
      mix(static_cast<uint64_t>(types.data_ptr<int64_t>()[i * T + t]));
    }
    out.push_back(h);
  }
  return out;
}

torch::Tensor TeacherCache::lookup(const data::Batch& batch) {
  const auto k = keys(batch);
  std::vector<float> flat;
  for (const auto key : k) {
    const auto it = rows_.find(key);
    if (it == rows_.end()) {
      ++misses_;
      return {};
    }
    flat.insert(flat.end(), it->second.begin(), it->second.end());
  }
  ++hits_;
  return torch::from_blob(flat.data(), {static_cast<int64_t>(k.size()), classes_}, torch::kFloat32)
      .clone()
      .to(batch.input_ids.device());
}

void TeacherCache::insert(const data::Batch& batch, const torch::Tensor& logits) {
  if (logits.dim() != 2) throw ConfigError(Origin{}, "objective.cache", "caches [batch, classes] logits only (a classification teacher)");
  const auto l = logits.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  classes_ = l.size(1);
  const auto k = keys(batch);
  for (size_t i = 0; i < k.size(); ++i) {
    const float* row = l.data_ptr<float>() + static_cast<int64_t>(i) * classes_;
    if (rows_.emplace(k[i], std::vector<float>(row, row + classes_)).second) ++unsaved_;
  }
  if (unsaved_ >= kSaveEvery) save();
}

void TeacherCache::save() {
  const auto n = static_cast<int64_t>(rows_.size());
  auto keys = torch::empty({n}, torch::kInt64);
  auto logits = torch::empty({n, classes_}, torch::kFloat32);
  int64_t i = 0;
  for (const auto& [key, row] : rows_) {
    keys.data_ptr<int64_t>()[i] = static_cast<int64_t>(key);
    std::copy(row.begin(), row.end(), logits.data_ptr<float>() + i * classes_);
    ++i;
  }
  const auto parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  models::save_safetensors(path_, {{"keys", keys}, {"logits", logits}}, {{"teacher", teacher_}});
  unsaved_ = 0;
}

}  // namespace ptm::distill
