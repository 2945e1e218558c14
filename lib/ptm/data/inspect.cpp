// Manifest summary, shard checks (hash and size) and a decoded sample.
#include "ptm/data/inspect.h"

#include <sstream>

#include <nlohmann/json.hpp>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/sha256.h"
#include "ptm/data/shard.h"
#include "ptm/data/tokenizer.h"

namespace ptm::data {

std::string inspect_prepared(const std::string& dir, int64_t tokens) {
  const std::string manifest_path = dir + "/manifest.json";
  nlohmann::json m;
  try {
    m = nlohmann::json::parse(fs_util::read_file(manifest_path));
  } catch (const nlohmann::json::exception& e) {
    throw IoError("'" + manifest_path + "' is not valid JSON: " + e.what());
  }
  std::ostringstream out;
  out << dir << "\n  sources    " << m["sources"].size() << " files, " << m["documents"] << " documents\n"
      << "  tokenizer  " << m["tokenizer"]["kind"].get<std::string>() << ", vocab " << m["tokenizer"]["vocab_size"]
      << ", " << m["token_bytes"] << " bytes per token\n";
  for (const char* split : {"train", "val"}) {
    out << "  " << split << std::string(11 - std::string(split).size(), ' ') << m[split]["tokens"] << " tokens in "
        << m[split]["shards"].size() << " shard(s)";
    for (const auto& sh : m[split]["shards"]) {
      const std::string file = dir + "/" + sh["file"].get<std::string>();
      ShardReader reader(file);  // validates the header against the file size
      if (reader.size() != sh["tokens"].get<int64_t>() || sha256_file(file) != sh["sha256"].get<std::string>())
        throw IoError("shard '" + file + "' does not match the manifest (tokens or sha256 differ)");
    }
    out << ", checked\n";
  }
  const auto tok = load_tokenizer(dir + "/tokenizer.json");
  if (!m["val"]["shards"].empty() && tokens > 0) {
    ShardReader val(dir + "/" + m["val"]["shards"][0]["file"].get<std::string>());
    std::vector<int32_t> ids;
    for (int64_t i = 0; i < std::min(tokens, val.size()); ++i) ids.push_back(static_cast<int32_t>(val.at(i)));
    out << "  first " << ids.size() << " val tokens:\n" << tok->decode(ids, false) << "\n";
  }
  return out.str();
}

}  // namespace ptm::data
