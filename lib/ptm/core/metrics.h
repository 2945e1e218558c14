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

}  // namespace ptm
