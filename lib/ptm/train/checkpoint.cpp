// Checkpoint folders, the latest pointer and RNG state capture.
#include "ptm/train/checkpoint.h"

#include <unistd.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <filesystem>

#ifdef PTM_WITH_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <ATen/detail/CUDAHooksInterface.h>
#endif

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/log.h"

namespace fs = std::filesystem;

namespace ptm::train {
namespace {

std::string to_hex(const torch::Tensor& bytes) {
  static const char* k = "0123456789abcdef";
  const auto t = bytes.contiguous();
  const auto* p = t.data_ptr<uint8_t>();
  std::string s;
  for (int64_t i = 0; i < t.numel(); ++i) {
    s += k[p[i] >> 4];
    s += k[p[i] & 15];
  }
  return s;
}

torch::Tensor from_hex(const std::string& s) {
  auto t = torch::empty({static_cast<int64_t>(s.size() / 2)}, torch::kUInt8);
  auto* p = t.data_ptr<uint8_t>();
  auto v = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (size_t i = 0; i + 1 < s.size(); i += 2) p[i / 2] = static_cast<uint8_t>(v(s[i]) * 16 + v(s[i + 1]));
  return t;
}

std::vector<std::pair<int64_t, std::string>> complete_checkpoints(const std::string& run_dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step_", 0) != 0 || name.find('.') != std::string::npos) continue;
    if (!fs::exists(e.path() / "DONE")) continue;
    out.emplace_back(std::stoll(name.substr(5)), e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string checkpoint_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "step_%08lld", static_cast<long long>(step));
  return buf;
}

std::string save_checkpoint(const std::string& run_dir, int64_t step, const models::ModelImpl& model,
                            const optim::Optimizer& optimizer, const nlohmann::json& trainer_state,
                            const models::NamedTensors& objective_params, const std::string& name) {
  const fs::path root = fs::path(run_dir) / "checkpoints";
  const std::string folder = name.empty() ? checkpoint_name(step) : name;
  const fs::path final_dir = root / folder;
  const fs::path tmp = root / (folder + ".tmp-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::create_directories(tmp, ec);
  if (ec) throw IoError("cannot create checkpoint folder '" + tmp.string() + "': " + ec.message());
  try {
    models::save_safetensors((tmp / "model.safetensors").string(), model.hf_state_dict(), {{"format", "pt"}});
    models::save_safetensors((tmp / "optimizer.safetensors").string(), optimizer.state());
    if (!objective_params.empty())
      models::save_safetensors((tmp / "objective.safetensors").string(), objective_params);
    fs_util::write_file_atomic((tmp / "trainer_state.json").string(), trainer_state.dump(2) + "\n");
    fs_util::write_file_atomic((tmp / "DONE").string(), "");
    fs::remove_all(final_dir, ec);  // a re-save of the same step (after resume)
    fs::rename(tmp, final_dir);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  if (!name.empty()) return final_dir.string();
  // latest -> step_XXXXXXXX, replaced atomically through a temporary link.
  const fs::path link_tmp = root / ("latest.tmp-" + std::to_string(::getpid()));
  fs::remove(link_tmp, ec);
  fs::create_directory_symlink(checkpoint_name(step), link_tmp, ec);
  if (!ec) fs::rename(link_tmp, root / "latest", ec);
  return final_dir.string();
}

std::optional<std::string> latest_checkpoint(const std::string& run_dir) {
  const auto all = complete_checkpoints(run_dir);
  if (all.empty()) return std::nullopt;
  return all.back().second;
}

nlohmann::json load_checkpoint(const std::string& dir, models::ModelImpl& model, optim::Optimizer* optimizer,
                               const models::NamedTensors& objective_params) {
  if (!fs::exists(fs::path(dir) / "DONE"))
    throw IoError("checkpoint '" + dir + "' is incomplete (no DONE file) or does not exist");
  const auto report = model.load_hf_state_dict(models::load_safetensors(dir + "/model.safetensors"));
  if (!report.ok()) throw IoError("checkpoint '" + dir + "' does not fit the model:\n" + report.str());
  if (optimizer) optimizer->load_state(models::load_safetensors(dir + "/optimizer.safetensors"));
  if (!objective_params.empty()) {
    const auto saved = models::load_safetensors(dir + "/objective.safetensors");
    torch::NoGradGuard no_grad;
    for (const auto& [name, t] : objective_params) {
      const auto it = std::find_if(saved.begin(), saved.end(), [&](const auto& kv) { return kv.first == name; });
      if (it == saved.end() || !it->second.sizes().equals(t.sizes()))
        throw IoError("checkpoint '" + dir + "': objective.safetensors lacks '" + name + "' of shape " +
                      c10::str(t.sizes()));
      t.copy_(it->second);
    }
  }
  try {
    return nlohmann::json::parse(fs_util::read_file(dir + "/trainer_state.json"));
  } catch (const nlohmann::json::exception&) {
    throw IoError("checkpoint '" + dir + "': trainer_state.json is not valid JSON");
  }
}

void prune_checkpoints(const std::string& run_dir, int64_t keep_last) {
  if (keep_last <= 0) return;
  const auto all = complete_checkpoints(run_dir);
  for (size_t i = 0; i + keep_last < all.size(); ++i) {
    std::error_code ec;
    fs::remove_all(all[i].second, ec);
    if (ec) log::warn("could not delete old checkpoint " + all[i].second + ": " + ec.message());
  }
}

nlohmann::json rng_state() {
  nlohmann::json s;
  s["cpu"] = to_hex(at::detail::getDefaultCPUGenerator().get_state());
#ifdef PTM_WITH_CUDA
  const auto& hooks = at::detail::getCUDAHooks();
  if (hooks.hasCUDA())
    for (int i = 0; i < hooks.getNumGPUs(); ++i)
      s["cuda"].push_back(to_hex(at::cuda::detail::getDefaultCUDAGenerator(i).get_state()));
#endif
  return s;
}

void set_rng_state(const nlohmann::json& s) {
  // The default generators are handed out const; their state is still theirs to set.
  if (s.contains("cpu")) {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    gen.set_state(from_hex(s["cpu"].get<std::string>()));
  }
#ifdef PTM_WITH_CUDA
  if (s.contains("cuda"))
    for (size_t i = 0; i < s["cuda"].size(); ++i)
    {
      at::Generator gen = at::cuda::detail::getDefaultCUDAGenerator(static_cast<c10::DeviceIndex>(i));
      gen.set_state(from_hex(s["cuda"][i].get<std::string>()));
    }
#endif
}

}  // namespace ptm::train
