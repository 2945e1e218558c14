// Run directory creation and its fixed files.
#include "ptm/core/run_dir.h"

#include <cctype>
#include <filesystem>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/log.h"

namespace fs = std::filesystem;

namespace ptm {
namespace {

// Files that only a run writes: a folder holding one of them is a run directory.
const char* const kRunMarkers[] = {"config.yaml", "cmdline.txt", "metrics.jsonl", "summary.json", "checkpoints"};

}  // namespace

bool RunDir::holds_finished_run(const std::string& path) { return fs::exists(fs::path(path) / "summary.json"); }

bool RunDir::holds_any_run(const std::string& path) {
  for (const char* m : kRunMarkers)
    if (fs::exists(fs::path(path) / m)) return true;
  return false;
}

RunDir RunDir::open(const std::string& path, Mode mode) {
  const Origin where{path};
  std::error_code ec;
  if (fs::exists(path, ec) && !fs::is_directory(path, ec))
    throw ConfigError(where, "run.dir", "exists and is not a directory");
  bool resumed = false;
  if (holds_any_run(path)) {
    if (mode == Mode::Overwrite) {
      log::warn("--overwrite: deleting the earlier run in " + path);
      fs::remove_all(path, ec);
      if (ec) throw IoError("cannot delete the earlier run in '" + path + "': " + ec.message());
    } else if (mode == Mode::Resume && !holds_finished_run(path)) {
      resumed = true;
    } else if (holds_finished_run(path)) {
      throw ConfigError(where, "run.dir",
                        "holds a finished run; pass --overwrite to replace it, or choose another run.name");
    } else {
      throw ConfigError(where, "run.dir",
                        "holds an unfinished run; pass --resume auto to continue it or --overwrite to replace it");
    }
  }
  fs::create_directories(path, ec);
  if (ec) throw IoError("cannot create run directory '" + path + "': " + ec.message());
  return RunDir(path, resumed);
}

void RunDir::write_config(const std::string& yaml) const { fs_util::write_file_atomic(file("config.yaml"), yaml); }

std::string shell_quote(const std::string& arg) {
  if (arg.empty()) return "''";
  bool plain = true;
  for (char c : arg)
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || std::string("@%_+=:,./-~").find(c) != std::string::npos);
  if (plain) return arg;
  std::string out = "'";
  for (char c : arg) out += (c == '\'') ? std::string("'\"'\"'") : std::string(1, c);
  return out + "'";
}

void RunDir::write_cmdline(const std::vector<std::string>& argv,
                           const std::vector<std::pair<std::string, std::string>>& provenance) const {
  std::string text;
  for (size_t i = 0; i < argv.size(); ++i) text += (i ? " " : "") + shell_quote(argv[i]);
  text += "\n";
  for (const auto& [k, v] : provenance) text += k + ": " + v + "\n";
  fs_util::write_file_atomic(file("cmdline.txt"), text);
}

void RunDir::write_summary(const nlohmann::json& summary) const {
  fs_util::write_file_atomic(file("summary.json"), summary.dump(2) + "\n");
}

void RunDir::attach_log() const { log::add_file(file("log.txt")); }

}  // namespace ptm
