// metrics.jsonl: one JSON object per logged step or evaluation, flushed line by line so
// `tail -f` and plotting scripts see progress while the run goes on.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace ptm {
namespace tb {
class EventWriter;
}

class MetricsWriter {
 public:
  explicit MetricsWriter(const std::string& path);  // appends; IoError when not writable
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  void write(const nlohmann::json& record);
  // Every record written afterwards also goes to `tb` as scalars (nullptr: none). Not owned.
  void mirror_to(tb::EventWriter* tb) { tb_ = tb; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  tb::EventWriter* tb_ = nullptr;
};

// Drops the records of steps after `step` (and a line torn by a kill) from a JSON-lines log,
// so a run resumed from the checkpoint of `step` writes each step once, as TensorBoard's purge
// does. Lines without a "step" stay. Atomic; nothing happens when the file does not exist.
void truncate_jsonl_after_step(const std::string& path, int64_t step);

// The step a line of log.txt reports the training loop at ("step 12/100 ...", "eval step 12:
// ...", "sample at step 12: ...", "skipped 1 step(s) ... up to step 12 ..."; the messages the
// trainer writes), or -1 for any other line.
int64_t log_line_step(const std::string& line);
// The same for log.txt, before a resumed run reopens it: everything from the first line of a
// step after `step` on goes (those steps run again, and whatever was logged between them with
// them), so each step is logged once. The lines of earlier sessions up to there stay. Atomic.
void truncate_log_after_step(const std::string& path, int64_t step);

}  // namespace ptm
