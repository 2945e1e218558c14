// Checkpoint folders (streamed, fsynced, checksummed), the latest pointer and RNG state capture.
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
#include "ptm/core/sha256.h"

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

// step_<digits> only: other folders someone put in checkpoints/ are not checkpoints.
bool step_folder(const std::string& name, int64_t& step) {
  if (name.size() <= 5 || name.size() > 5 + 18 || name.rfind("step_", 0) != 0) return false;
  for (size_t i = 5; i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  step = std::stoll(name.substr(5));
  return true;
}

std::vector<std::pair<int64_t, std::string>> complete_checkpoints(const std::string& run_dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    int64_t step = 0;
    if (!step_folder(e.path().filename().string(), step) || !e.is_directory(ec)) continue;
    if (!fs::exists(e.path() / "DONE", ec)) continue;
    out.emplace_back(step, e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Temporary folders and links of saves killed midway ("<name>.tmp-<pid>"). One process
// writes a run's checkpoints, so any that exist when it saves are leftovers.
void remove_stale_temporaries(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) {
      fs::remove_all(e.path(), ec);
      if (!ec) log::info("removed " + e.path().string() + ", left by an interrupted save");
    }
}

}  // namespace

std::string checkpoint_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "step_%08lld", static_cast<long long>(step));
  return buf;
}

std::string save_checkpoint(const std::string& run_dir, int64_t step, const models::ModelImpl& model,
                            const optim::Optimizer& optimizer, const nlohmann::json& trainer_state,
                            const ExtraFiles& extra, const std::string& name) {
  return save_checkpoint(run_dir, step, model, optimizer.state(), trainer_state, extra, name);
}

std::string save_checkpoint(const std::string& run_dir, int64_t step, const models::ModelImpl& model,
                            const models::NamedTensors& optimizer_state, const nlohmann::json& trainer_state,
                            const ExtraFiles& extra, const std::string& name) {
  const fs::path root = fs::path(run_dir) / "checkpoints";
  const std::string folder = name.empty() ? checkpoint_name(step) : name;
  const fs::path final_dir = root / folder;
  const fs::path tmp = root / (folder + ".tmp-" + std::to_string(::getpid()));
  remove_stale_temporaries(root);
  std::error_code ec;
  fs::create_directories(tmp, ec);
  if (ec) throw IoError("cannot create checkpoint folder '" + tmp.string() + "': " + ec.message());
  try {
    nlohmann::json files = nlohmann::json::object();
    const auto record = [&](const std::string& file, const std::string& sha256) {
      files[file] = {{"bytes", fs::file_size(tmp / file)}, {"sha256", sha256}};
    };
    record("model.safetensors",
           models::save_safetensors((tmp / "model.safetensors").string(), model.hf_state_dict(), {{"format", "pt"}}));
    record("optimizer.safetensors", models::save_safetensors((tmp / "optimizer.safetensors").string(), optimizer_state));
    for (const auto& [file, tensors] : extra)
      if (!tensors.empty())
        record(file, models::save_safetensors((tmp / file).string(), tensors, {{"format", "pt"}}));
    record("trainer_state.json",
           fs_util::write_file_atomic((tmp / "trainer_state.json").string(), trainer_state.dump(2) + "\n"));
    fs_util::write_file_atomic((tmp / "DONE").string(), nlohmann::json{{"files", files}}.dump(2) + "\n");
    fs_util::fsync_dir(tmp.string());
    fs::remove_all(final_dir, ec);  // a re-save of the same step (after resume)
    fs::rename(tmp, final_dir);
    fs_util::fsync_dir(root.string());
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp, ec);
    throw IoError("cannot write checkpoint '" + final_dir.string() + "': " + e.code().message());
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

std::string verify_checkpoint(const std::string& dir) {
  nlohmann::json done;
  try {
    const auto text = fs_util::read_file(dir + "/DONE");
    if (text.find_first_not_of(" \n") == std::string::npos) return "";  // written before checksums
    done = nlohmann::json::parse(text);
  } catch (const std::exception&) {
    return "DONE is unreadable or not JSON";
  }
  if (!done.is_object() || !done.contains("files") || !done["files"].is_object()) return "DONE lists no files";
  for (const auto& [file, want] : done["files"].items()) {
    const std::string path = dir + "/" + file;
    std::error_code ec;
    const auto bytes = fs::file_size(path, ec);
    if (ec) return file + " is missing";
    if (!want.is_object() || !want.contains("bytes") || !want.contains("sha256")) return "DONE's entry for " + file + " is malformed";
    if (want["bytes"] != bytes)
      return file + " has " + std::to_string(bytes) + " bytes, " + want["bytes"].dump() + " when it was written";
    if (sha256_file(path) != want["sha256"]) return file + " does not match its SHA-256 (altered after it was written)";
  }
  return "";
}

std::optional<std::string> latest_checkpoint(const std::string& run_dir, bool verify) {
  const auto all = complete_checkpoints(run_dir);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (!verify) return it->second;
    const auto problem = verify_checkpoint(it->second);
    if (problem.empty()) return it->second;
    log::warn("checkpoint " + it->second + " is damaged (" + problem + "); trying the one before it");
  }
  return std::nullopt;
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
  if (s.contains("cuda")) {
    const auto& hooks = at::detail::getCUDAHooks();
    const size_t present = hooks.hasCUDA() ? static_cast<size_t>(hooks.getNumGPUs()) : 0;
    const size_t saved = s["cuda"].size();
    for (size_t i = 0; i < std::min(saved, present); ++i) {
      at::Generator gen = at::cuda::detail::getDefaultCUDAGenerator(static_cast<c10::DeviceIndex>(i));
      gen.set_state(from_hex(s["cuda"][i].get<std::string>()));
    }
    if (saved > present)
      log::warn("the checkpoint holds random states of " + std::to_string(saved) + " CUDA devices and " +
                std::to_string(present) + " are present: the first " + std::to_string(present) + " are restored");
  }
#endif
}

}  // namespace ptm::train
