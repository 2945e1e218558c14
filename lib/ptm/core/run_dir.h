// The run directory (DESIGN §5): config.yaml, cmdline.txt, log.txt, metrics.jsonl,
// checkpoints/, summary.json. Opening one refuses to clobber an earlier run unless asked.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ptm {

class RunDir {
 public:
  enum class Mode {
    Fresh,      // the directory must not hold an earlier run
    Overwrite,  // an earlier run is deleted first (--overwrite)
    Resume,     // an unfinished earlier run is continued (--resume)
  };

  // Creates or reopens `path`. Throws ConfigError (exit 2) naming the directory when it
  // holds a run that `mode` does not allow replacing; IoError when it cannot be created.
  static RunDir open(const std::string& path, Mode mode);
  // The run directory as the other ranks of a data-parallel run see it: rank 0 opened it and
  // writes into it; this only names its files and creates nothing.
  static RunDir follow(const std::string& path, bool resumed) { return RunDir(path, resumed); }

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  bool resumed() const { return resumed_; }

  // config.yaml: the fully resolved recipe.
  void write_config(const std::string& yaml) const;
  // cmdline.txt: the exact argv (shell-quoted) then "key: value" provenance lines.
  void write_cmdline(const std::vector<std::string>& argv,
                     const std::vector<std::pair<std::string, std::string>>& provenance) const;
  // summary.json, written atomically; its presence marks the run as finished.
  void write_summary(const nlohmann::json& summary) const;
  // Tee the console log into log.txt (appends, so a resumed run keeps its history; its lines
  // of the steps that run again are dropped first: truncate_log_after_step in metrics.h).
  void attach_log() const;

  // True when `path` holds a finished run (summary.json) or any run output.
  static bool holds_finished_run(const std::string& path);
  static bool holds_any_run(const std::string& path);

 private:
  explicit RunDir(std::string path, bool resumed) : path_(std::move(path)), resumed_(resumed) {}
  std::string path_;
  bool resumed_ = false;
};

// Quotes an argument for a POSIX shell when needed ('it'"'"'s').
std::string shell_quote(const std::string& arg);

}  // namespace ptm
