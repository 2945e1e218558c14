// Shard writing (buffered, atomic rename) and reading (mmap, validated header).
#include "ptm/data/shard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ptm/core/errors.h"

namespace ptm::data {

int token_bytes_for_vocab(int64_t vocab_size) { return vocab_size <= 65536 ? 2 : 4; }

ShardWriter::ShardWriter(std::string path, int64_t vocab_size)
    : path_(std::move(path)), tmp_(path_ + ".tmp-" + std::to_string(::getpid())), vocab_(vocab_size),
      bytes_(token_bytes_for_vocab(vocab_size)) {
  if (vocab_size <= 0 || vocab_size > (int64_t(1) << 32))
    throw RuntimeError("shard '" + path_ + "': vocabulary size " + std::to_string(vocab_size) + " out of range");
  file_ = std::fopen(tmp_.c_str(), "wb");
  if (!file_) throw IoError("cannot write shard '" + path_ + "': " + std::strerror(errno));
  const std::vector<uint8_t> zeros(kShardHeaderBytes, 0);
  if (std::fwrite(zeros.data(), 1, zeros.size(), file_) != zeros.size())
    throw IoError("cannot write shard '" + path_ + "': " + std::strerror(errno));
}

ShardWriter::ShardWriter(std::string path, int64_t vocab_size, const std::string& partial, int64_t tokens)
    : path_(std::move(path)), tmp_(path_ + ".tmp-" + std::to_string(::getpid())), vocab_(vocab_size),
      bytes_(token_bytes_for_vocab(vocab_size)), count_(tokens) {
  const auto size = static_cast<off_t>(kShardHeaderBytes) + static_cast<off_t>(tokens) * bytes_;
  struct stat st {};
  if (::stat(partial.c_str(), &st) != 0 || st.st_size < size)
    throw IoError("cannot continue shard '" + path_ + "': '" + partial + "' is missing or shorter than " +
                  std::to_string(tokens) + " tokens");
  if ((partial != tmp_ && std::rename(partial.c_str(), tmp_.c_str()) != 0) || ::truncate(tmp_.c_str(), size) != 0 ||
      !(file_ = std::fopen(tmp_.c_str(), "r+b")) || std::fseek(file_, 0, SEEK_END) != 0)
    throw IoError("cannot continue shard '" + path_ + "': " + std::strerror(errno));
}

void ShardWriter::flush() {
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0)
    throw IoError("cannot write shard '" + path_ + "': " + std::strerror(errno));
}

ShardWriter::~ShardWriter() {
  if (file_) {  // not closed: an error happened; leave nothing behind
    std::fclose(file_);
    ::unlink(tmp_.c_str());
  }
}

void ShardWriter::append(const int32_t* ids, size_t n) {
  buf_.resize(n * bytes_);
  for (size_t i = 0; i < n; ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= vocab_)
      throw RuntimeError("shard '" + path_ + "': token id " + std::to_string(id) + " outside the vocabulary of " +
                         std::to_string(vocab_));
    const uint32_t u = static_cast<uint32_t>(id);
    for (int b = 0; b < bytes_; ++b) buf_[i * bytes_ + b] = uint8_t(u >> (8 * b));  // little endian
  }
  if (std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size())
    throw IoError("cannot write shard '" + path_ + "': " + std::strerror(errno));
  count_ += static_cast<int64_t>(n);
  if (count_ > INT32_MAX) throw RuntimeError("shard '" + path_ + "': more than 2^31-1 tokens; use smaller shards");
}

void ShardWriter::close() {
  int32_t header[256] = {};
  header[0] = bytes_ == 2 ? kShardMagicU16 : kShardMagicU32;
  header[1] = bytes_ == 2 ? 1 : 7;
  header[2] = static_cast<int32_t>(count_);
  header[3] = static_cast<int32_t>(vocab_ > INT32_MAX ? 0 : vocab_);
  uint8_t raw[kShardHeaderBytes];
  for (int i = 0; i < 256; ++i)
    for (int b = 0; b < 4; ++b) raw[4 * i + b] = uint8_t(uint32_t(header[i]) >> (8 * b));
  const bool ok = std::fseek(file_, 0, SEEK_SET) == 0 && std::fwrite(raw, 1, sizeof(raw), file_) == sizeof(raw) &&
                  std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  const int err = errno;
  std::fclose(file_);
  file_ = nullptr;
  if (!ok || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    ::unlink(tmp_.c_str());
    throw IoError("cannot write shard '" + path_ + "': " + std::strerror(ok ? errno : err));
  }
}

ShardHeader parse_shard_header(const uint8_t* bytes, size_t size, const std::string& path) {
  if (size < kShardHeaderBytes)
    throw IoError("token shard '" + path + "' is truncated: " + std::to_string(size) +
                  " bytes, shorter than the 1024-byte header");
  auto word = [&](int i) {
    uint32_t v = 0;
    for (int b = 0; b < 4; ++b) v |= uint32_t(bytes[4 * i + b]) << (8 * b);
    return static_cast<int32_t>(v);
  };
  const int32_t magic = word(0), version = word(1);
  ShardHeader h;
  if (magic == kShardMagicU16 && version == 1) h.token_bytes = 2;
  else if (magic == kShardMagicU32 && version == 7) h.token_bytes = 4;
  else
    throw IoError("token shard '" + path + "' is not a token shard (magic " + std::to_string(magic) + ", version " +
                  std::to_string(version) + "; expected 20240520/1 or 20240801/7)");
  h.tokens = word(2);
  h.vocab_size = word(3);
  // int32 counts: no overflow in 64 bits.
  const int64_t expected = int64_t(kShardHeaderBytes) + h.tokens * h.token_bytes;
  if (h.tokens < 0 || uint64_t(expected) != size)
    throw IoError("token shard '" + path + "' is truncated or corrupt: the header says " + std::to_string(h.tokens) +
                  " tokens (" + std::to_string(expected) + " bytes) but the file has " + std::to_string(size) +
                  " bytes");
  if (h.vocab_size < 0)
    throw IoError("token shard '" + path + "' is corrupt: vocabulary size " + std::to_string(h.vocab_size) +
                  " in the header (expected 0 = unknown, or the size)");
  return h;
}

ShardReader::ShardReader(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open token shard '" + path + "': " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  map_size_ = static_cast<size_t>(st.st_size);
  if (map_size_ < kShardHeaderBytes) {  // too short for a header: the parser throws before reading
    ::close(fd);
    parse_shard_header(nullptr, map_size_, path);
  }
  void* m = ::mmap(nullptr, map_size_, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) throw IoError("cannot map token shard '" + path + "': " + std::strerror(errno));
  map_ = static_cast<const uint8_t*>(m);
  try {
    const ShardHeader h = parse_shard_header(map_, map_size_, path);
    bytes_ = h.token_bytes;
    count_ = h.tokens;
    vocab_ = h.vocab_size;
  } catch (...) {
    ::munmap(const_cast<uint8_t*>(map_), map_size_);
    map_ = nullptr;
    throw;
  }
  tokens_ = map_ + kShardHeaderBytes;
  ::madvise(const_cast<uint8_t*>(map_), map_size_, MADV_RANDOM);
}

ShardReader::ShardReader(ShardReader&& o) noexcept
    : path_(std::move(o.path_)), map_(o.map_), map_size_(o.map_size_), tokens_(o.tokens_), count_(o.count_),
      vocab_(o.vocab_), bytes_(o.bytes_) {
  o.map_ = nullptr;
}

ShardReader::~ShardReader() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), map_size_);
}

uint32_t ShardReader::at(int64_t i) const {
  const uint8_t* p = tokens_ + i * bytes_;
  return bytes_ == 2 ? uint32_t(p[0]) | (uint32_t(p[1]) << 8)
                     : uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

int64_t ShardReader::first_id_at_least(uint32_t limit) const {
  ::madvise(const_cast<uint8_t*>(map_), map_size_, MADV_SEQUENTIAL);
  uint32_t largest = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  // The token area starts 1024 bytes into a page-aligned map, so it is aligned for both widths;
  // a plain max loop over it vectorises.
  if (bytes_ == 2) {
    const auto* p = reinterpret_cast<const uint16_t*>(tokens_);
    uint16_t m = 0;
    for (int64_t i = 0; i < count_; ++i) m = std::max(m, p[i]);
    largest = m;
  } else {
    const auto* p = reinterpret_cast<const uint32_t*>(tokens_);
    for (int64_t i = 0; i < count_; ++i) largest = std::max(largest, p[i]);
  }
#else
  for (int64_t i = 0; i < count_; ++i) largest = std::max(largest, at(i));
#endif
  ::madvise(const_cast<uint8_t*>(map_), map_size_, MADV_RANDOM);
  if (largest < limit) return -1;
  for (int64_t i = 0; i < count_; ++i)
    if (at(i) >= limit) return i;
  return -1;
}

void ShardReader::check_ids(int64_t vocab_size, const std::string& vocab_source) const {
  if (vocab_size > int64_t{UINT32_MAX}) return;  // every stored id fits
  const int64_t pos = first_id_at_least(static_cast<uint32_t>(std::max<int64_t>(vocab_size, 0)));
  if (pos < 0) return;
  throw IoError("token shard '" + path_ + "': the token at position " + std::to_string(pos) + " has id " +
                std::to_string(at(pos)) + ", outside the vocabulary of " + std::to_string(vocab_size) + " in '" +
                vocab_source + "' (a shard made with another tokenizer, or a damaged one)");
}

void ShardReader::read(int64_t start, int64_t n, int64_t* out) const {
  if (bytes_ == 2) {
    const uint8_t* p = tokens_ + start * 2;
    for (int64_t i = 0; i < n; ++i) out[i] = int64_t(uint16_t(p[2 * i] | (p[2 * i + 1] << 8)));
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = int64_t(at(start + i));
  }
}

}  // namespace ptm::data
