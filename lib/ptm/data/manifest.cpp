// manifest.json through json_fields, so a damaged field is named instead of a raw JSON error.
#include "ptm/data/manifest.h"

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/json_fields.h"

namespace ptm::data {

Manifest read_manifest(const std::string& dir) {
  Manifest m;
  m.dir = dir;
  m.path = dir + "/manifest.json";
  try {
    m.json = nlohmann::json::parse(fs_util::read_file(m.path));
  } catch (const nlohmann::json::exception& e) {
    throw IoError("'" + m.path + "' is not valid JSON: " + e.what());
  }
  const json_fields::Field root(m.json, m.path);
  m.vocab_size = root.object("tokenizer").get<int64_t>("vocab_size");
  if (m.vocab_size <= 0)
    throw IoError(m.path + ": 'tokenizer.vocab_size' is " + std::to_string(m.vocab_size) + ", expected at least 1");
  return m;
}

std::vector<ManifestShard> Manifest::shards(const std::string& split) const {
  const json_fields::Field root(json, path);
  if (!root.has(split)) throw IoError("'" + path + "' has no split '" + split + "'");
  std::vector<ManifestShard> out;
  for (const auto& sh : root.object(split).list("shards")) {
    ManifestShard s;
    s.file = dir + "/" + sh.get<std::string>("file");
    s.tokens = sh.get<int64_t>("tokens", -1);
    s.sha256 = sh.get<std::string>("sha256", "");
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace ptm::data
