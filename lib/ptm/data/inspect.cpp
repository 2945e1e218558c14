// Manifest summary, shard checks (hash and size) and a decoded sample.
#include "ptm/data/inspect.h"

#include <sstream>

#include "ptm/core/errors.h"
#include "ptm/core/json_fields.h"
#include "ptm/core/sha256.h"
#include "ptm/data/manifest.h"
#include "ptm/data/shard.h"
#include "ptm/data/tokenizer.h"

namespace ptm::data {

std::string inspect_prepared(const std::string& dir, int64_t tokens) {
  const Manifest m = read_manifest(dir);
  const json_fields::Field root(m.json, m.path);
  std::ostringstream out;
  out << dir << "\n  sources    " << root.list("sources").size() << " files, " << root.get<int64_t>("documents")
      << " documents\n"
      << "  tokenizer  " << root.object("tokenizer").get<std::string>("kind") << ", vocab " << m.vocab_size << ", "
      << root.get<int64_t>("token_bytes") << " bytes per token\n";
  for (const char* split : {"train", "val"}) {
    const auto shards = m.shards(split);
    out << "  " << split << std::string(11 - std::string(split).size(), ' ') << root.object(split).get<int64_t>("tokens")
        << " tokens in " << shards.size() << " shard(s)";
    for (const auto& sh : shards) {
      ShardReader reader(sh.file);  // validates the header against the file size
      if (reader.size() != sh.tokens || sha256_file(sh.file) != sh.sha256)
        throw IoError("shard '" + sh.file + "' does not match the manifest (tokens or sha256 differ)");
      reader.check_ids(m.vocab_size, m.path);
    }
    out << ", checked\n";
  }
  const auto tok = load_tokenizer(dir + "/tokenizer.json");
  const auto val_shards = m.shards("val");
  if (!val_shards.empty() && tokens > 0) {
    ShardReader val(val_shards[0].file);
    std::vector<int32_t> ids;
    for (int64_t i = 0; i < std::min(tokens, val.size()); ++i) ids.push_back(static_cast<int32_t>(val.at(i)));
    out << "  first " << ids.size() << " val tokens:\n" << tok->decode(ids, false) << "\n";
  }
  return out.str();
}

}  // namespace ptm::data
