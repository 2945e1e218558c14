// Token shards: a 1024-byte header (256 little-endian int32) then raw token ids, the
// llm.c layout, so shards work with llm.c and nanoGPT-style tooling:
//   header[0] magic   20240520 (uint16 tokens) | 20240801 (uint32 tokens)
//   header[1] version 1 (uint16)                 | 7 (uint32)
//   header[2] number of tokens
//   header[3] vocabulary size (ptm's addition; 0 = unknown)
// Token width follows the vocabulary: uint16 when it fits, else uint32. Readers memory-map
// the file and always widen ids as unsigned (uint16 ids are never read as int16).
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace ptm::data {

constexpr int32_t kShardMagicU16 = 20240520;
constexpr int32_t kShardMagicU32 = 20240801;
constexpr size_t kShardHeaderBytes = 256 * sizeof(int32_t);

// What a shard's header says, checked against the file size.
struct ShardHeader {
  int token_bytes = 2;
  int64_t tokens = 0, vocab_size = 0;
};
// Validates the header of a file of `size` bytes starting at `bytes` (torch-free; ShardReader
// and the fuzz target call it). IoError naming `path`: truncated, foreign or inconsistent.
ShardHeader parse_shard_header(const uint8_t* bytes, size_t size, const std::string& path);

// Bytes per token for a vocabulary: 2 when every id fits in uint16, else 4.
int token_bytes_for_vocab(int64_t vocab_size);

class ShardWriter {
 public:
  // Writes to a temporary name; close() renames it to `path`, so a crash leaves no shard.
  ShardWriter(std::string path, int64_t vocab_size);
  // Continues the temporary file `partial` of an earlier writer (another process) that had
  // flushed `tokens` tokens: later ones are cut off, appends go after them. IoError when the
  // file is missing or shorter.
  ShardWriter(std::string path, int64_t vocab_size, const std::string& partial, int64_t tokens);
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  void append(const int32_t* ids, size_t n);  // RuntimeError when an id is outside the vocabulary
  void append(const std::vector<int32_t>& ids) { append(ids.data(), ids.size()); }
  int64_t tokens() const { return count_; }
  // Puts every token appended so far on disk (for a checkpoint naming temp_path()).
  void flush();
  const std::string& temp_path() const { return tmp_; }
  void close();

 private:
  std::string path_, tmp_;
  int64_t vocab_;
  int bytes_;
  std::FILE* file_ = nullptr;
  int64_t count_ = 0;
  std::vector<uint8_t> buf_;
};

class ShardReader {
 public:
  // Maps and validates the file: IoError when missing, ConfigError-free; a truncated or
  // foreign file is an IoError that says which and why.
  explicit ShardReader(const std::string& path);
  ~ShardReader();
  ShardReader(ShardReader&& other) noexcept;
  ShardReader(const ShardReader&) = delete;
  ShardReader& operator=(const ShardReader&) = delete;

  int64_t size() const { return count_; }
  int64_t vocab_size() const { return vocab_; }
  int token_bytes() const { return bytes_; }
  const std::string& path() const { return path_; }
  uint32_t at(int64_t i) const;
  // The position of the first token whose id is `limit` or more, or -1: one sequential pass
  // for the largest id, a second only when that is too large.
  int64_t first_id_at_least(uint32_t limit) const;
  // IoError naming this file and the first position whose id is `vocab_size` or more (the
  // vocabulary `vocab_source` declares); a model would fail later with "index out of range".
  void check_ids(int64_t vocab_size, const std::string& vocab_source) const;
  // Copies tokens [start, start+n) widened to int64 (what embeddings take).
  void read(int64_t start, int64_t n, int64_t* out) const;

 private:
  std::string path_;
  const uint8_t* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* tokens_ = nullptr;
  int64_t count_ = 0, vocab_ = 0;
  int bytes_ = 2;
};

}  // namespace ptm::data
