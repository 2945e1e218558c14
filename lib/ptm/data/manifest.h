// Reading a prepared folder's manifest.json (written by ptm data prepare): the tokenizer's
// vocabulary size and each split's shards, with typed reads that name the file and the field.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ptm::data {

struct ManifestShard {
  std::string file;    // path of the shard (the folder joined with the manifest's "file")
  int64_t tokens = -1;  // -1 when the manifest does not say
  std::string sha256;  // "" when the manifest does not say
};

struct Manifest {
  std::string dir;   // the prepared folder
  std::string path;  // <dir>/manifest.json
  nlohmann::json json;
  int64_t vocab_size = 0;  // tokenizer.vocab_size
  // The shards of `split`; IoError when the manifest has no such split.
  std::vector<ManifestShard> shards(const std::string& split) const;
};

// IoError when the file is missing, not JSON, or a field is missing or of the wrong type.
Manifest read_manifest(const std::string& dir);

}  // namespace ptm::data
