// SHA-256 (FIPS 180-4) for data manifests, checkpoint checksums and provenance hashes: streaming and one-shot.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ptm {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::string hex();  // finishes the hash; call once

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(std::string_view data);
// Hash of a file's bytes; throws IoError naming the file when unreadable.
std::string sha256_file(const std::string& path);

}  // namespace ptm
