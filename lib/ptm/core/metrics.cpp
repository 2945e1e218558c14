// JSON-lines metrics writer.
#include "ptm/core/metrics.h"

#include <cerrno>
#include <cstring>

#include "ptm/core/errors.h"

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
}

}  // namespace ptm
