// metrics.jsonl: one JSON object per logged step or evaluation, flushed line by line so
// `tail -f` and plotting scripts see progress while the run goes on.
#pragma once
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace ptm {

class MetricsWriter {
 public:
  explicit MetricsWriter(const std::string& path);  // appends; IoError when not writable
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  void write(const nlohmann::json& record);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace ptm
