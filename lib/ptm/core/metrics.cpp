// JSON-lines metrics writer.
#include "ptm/core/metrics.h"

#include <cctype>
#include <cerrno>
#include <cstring>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string_view>

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

int64_t log_line_step(const std::string& line) {
  // "[date time] [level] message": the message follows the second "] ".
  size_t at = line.find("] ");
  if (at != std::string::npos) at = line.find("] ", at + 2);
  if (at == std::string::npos) return -1;
  const std::string_view msg = std::string_view(line).substr(at + 2);
  const auto number_after = [&](size_t pos) -> int64_t {
    int64_t v = 0;
    size_t digits = 0;
    for (; pos < msg.size() && std::isdigit(static_cast<unsigned char>(msg[pos])) && digits < 18; ++pos, ++digits)
      v = v * 10 + (msg[pos] - '0');
    return digits ? v : -1;
  };
  for (const std::string_view prefix : {"step ", "eval step ", "sample at step "})
    if (msg.substr(0, prefix.size()) == prefix) return number_after(prefix.size());
  if (msg.substr(0, 8) == "skipped ") {
    constexpr std::string_view kUpTo = " up to step ";
    if (const auto pos = msg.find(kUpTo); pos != std::string_view::npos) return number_after(pos + kUpTo.size());
  }
  return -1;
}

void truncate_log_after_step(const std::string& path, int64_t step) {
  if (!std::filesystem::exists(path)) return;
  const std::string text = fs_util::read_file(path);
  size_t end = 0;  // the kept prefix
  while (end < text.size()) {
    size_t nl = text.find('\n', end);
    if (nl == std::string::npos) nl = text.size();
    if (log_line_step(text.substr(end, nl - end)) > step) break;
    end = std::min(nl + 1, text.size());
  }
  std::string kept = text.substr(0, end);
  if (!kept.empty() && kept.back() != '\n') kept += '\n';  // a line torn by a kill
  if (kept != text) fs_util::write_file_atomic(path, kept);
}

}  // namespace ptm
