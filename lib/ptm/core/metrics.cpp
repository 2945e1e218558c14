// JSON-lines metrics writer.
#include "ptm/core/metrics.h"

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <sstream>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/tb_events.h"

namespace ptm {

MetricsWriter::MetricsWriter(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "a")) {
  if (!file_) throw IoError("cannot open metrics file '" + path + "': " + std::strerror(errno));
}

MetricsWriter::~MetricsWriter() {
  if (file_) std::fclose(file_);
}

void MetricsWriter::write(const nlohmann::json& record) {
  // NaN/inf are not JSON; nlohmann writes them as null, which readers handle.
  const std::string line = record.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw IoError("cannot write metrics file '" + path_ + "': " + std::strerror(errno));
  if (tb_) tb_->metrics(record);
}

void truncate_jsonl_after_step(const std::string& path, int64_t step) {
  if (!std::filesystem::exists(path)) return;
  std::istringstream in(fs_util::read_file(path));
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      continue;  // torn by a kill mid-write
    }
    if (record.is_object() && record.contains("step") && record["step"].is_number_integer() &&
        record["step"].get<int64_t>() > step)
      continue;
    kept += line + "\n";
  }
  fs_util::write_file_atomic(path, kept);
}

}  // namespace ptm
