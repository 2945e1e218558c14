// TSV / JSONL record parsing for text data sets.
#include "ptm/data/text_records.h"

#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"

namespace ptm::data {

std::vector<TextRecord> parse_text_records(const std::string& content, const std::string& path, const TextFields& f) {
  const bool jsonl = path.size() >= 6 && path.substr(path.size() - 6) == ".jsonl";
  std::vector<TextRecord> out;
  std::istringstream in(content);
  std::string line;
  int64_t lineno = 0;
  std::map<std::string, int> col;
  auto where = [&] { return path + ":" + std::to_string(lineno); };
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    TextRecord r;
    r.line = lineno;
    if (jsonl) {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const std::exception&) {
        throw IoError(where() + ": not a JSON object");
      }
      auto field = [&](const std::string& k, bool required) -> std::string {
        if (!j.contains(k)) {
          if (required) throw IoError(where() + ": missing field '" + k + "'");
          return "";
        }
        return j[k].is_string() ? j[k].get<std::string>() : j[k].dump();
      };
      r.text = field(f.text, true);
      if (!f.pair.empty()) r.pair = field(f.pair, true);
      r.label = field(f.label, true);
    } else {
      std::vector<std::string> cells;
      std::string cell;
      std::istringstream row(line);
      while (std::getline(row, cell, '\t')) cells.push_back(cell);
      if (col.empty()) {
        for (size_t i = 0; i < cells.size(); ++i) col[cells[i]] = static_cast<int>(i);
        for (const auto& k : {f.text, f.label, f.pair})
          if (!k.empty() && !col.count(k)) throw IoError(path + ":1: no column '" + k + "' in the TSV header");
        continue;
      }
      auto cell_of = [&](const std::string& k) -> std::string {
        const int c = col.at(k);
        if (c >= static_cast<int>(cells.size())) throw IoError(where() + ": missing column '" + k + "'");
        return cells[c];
      };
      r.text = cell_of(f.text);
      if (!f.pair.empty()) r.pair = cell_of(f.pair);
      r.label = cell_of(f.label);
    }
    if (r.label.empty()) throw IoError(where() + ": empty label");
    out.push_back(std::move(r));
  }
  if (out.empty()) throw IoError("'" + path + "' holds no examples");
  return out;
}

std::vector<TextRecord> read_text_records(const std::string& path, const TextFields& f) {
  return parse_text_records(fs_util::read_file(path), path, f);
}

}  // namespace ptm::data
