// Streaming reads of plain, gzip (zlib's inflate, every member) and zstd files.
#include "ptm/data/byte_source.h"

#include <zlib.h>

#include <cstring>

#ifdef PTM_HAVE_ZSTD
#include <zstd.h>
#endif

#include "ptm/core/errors.h"

namespace ptm::data {

struct ByteSource::State {
  z_stream z{};
  bool z_init = false;
#ifdef PTM_HAVE_ZSTD
  ZSTD_DCtx* zstd = nullptr;
  size_t zstd_last = 0;  // 0 when the last frame was complete
#endif
};

std::string without_compression_suffix(const std::string& name) {
  for (const char* s : {".gz", ".zst", ".zstd"}) {
    const size_t n = std::strlen(s);
    if (name.size() > n && name.compare(name.size() - n, n, s) == 0) return name.substr(0, name.size() - n);
  }
  return name;
}

ByteSource::ByteSource(const std::string& path, bool hash)
    : path_(path), hash_(hash), in_(1 << 20), state_(std::make_unique<State>()) {
  file_ = std::fopen(path.c_str(), "rb");
  if (!file_) throw IoError("cannot read '" + path + "': " + std::strerror(errno));
  fill_raw();
  const auto* b = reinterpret_cast<const unsigned char*>(in_.data());
  if (in_len_ >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
    codec_ = Codec::kGzip;
    if (inflateInit2(&state_->z, 15 + 32) != Z_OK) throw IoError("'" + path + "': zlib could not start");
    state_->z_init = true;
  } else if (in_len_ >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) {
    codec_ = Codec::kZstd;
#ifdef PTM_HAVE_ZSTD
    state_->zstd = ZSTD_createDCtx();
#else
    throw IoError("'" + path + "' is zstd-compressed, and this ptm was built without libzstd (install libzstd-dev)");
#endif
  }
}

ByteSource::~ByteSource() {
  if (state_->z_init) inflateEnd(&state_->z);
#ifdef PTM_HAVE_ZSTD
  if (state_->zstd) ZSTD_freeDCtx(state_->zstd);
#endif
  if (file_) std::fclose(file_);
}

const char* ByteSource::codec() const {
  return codec_ == Codec::kGzip ? "gzip" : codec_ == Codec::kZstd ? "zstd" : "plain";
}

bool ByteSource::fill_raw() {
  if (raw_eof_) return false;
  in_len_ = std::fread(in_.data(), 1, in_.size(), file_);
  in_pos_ = 0;
  if (std::ferror(file_)) throw IoError("cannot read '" + path_ + "': " + std::strerror(errno));
  if (in_len_ == 0) {
    raw_eof_ = true;
    return false;
  }
  raw_ += static_cast<int64_t>(in_len_);
  if (hash_) sha_.update(in_.data(), in_len_);
  return true;
}

size_t ByteSource::inflate_some(char* out, size_t n) {
  auto& z = state_->z;
  z.next_out = reinterpret_cast<Bytef*>(out);
  z.avail_out = static_cast<uInt>(n);
  while (z.avail_out == n) {
    if (in_pos_ == in_len_ && !fill_raw()) {
      if (!stream_end_) throw IoError("'" + path_ + "': truncated gzip data");
      return 0;
    }
    if (stream_end_) {  // another gzip member follows (concatenated .gz files)
      inflateReset(&z);
      stream_end_ = false;
    }
    z.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
    z.avail_in = static_cast<uInt>(in_len_ - in_pos_);
    const int rc = inflate(&z, Z_NO_FLUSH);
    in_pos_ = in_len_ - z.avail_in;
    if (rc == Z_STREAM_END) {
      stream_end_ = true;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      throw IoError("'" + path_ + "': corrupt gzip data at byte " + std::to_string(raw_ - (in_len_ - in_pos_)) +
                    (z.msg ? std::string(" (") + z.msg + ")" : ""));
    }
  }
  return n - z.avail_out;
}

size_t ByteSource::unzstd_some(char* out, size_t n) {
#ifdef PTM_HAVE_ZSTD
  ZSTD_outBuffer o{out, n, 0};
  while (o.pos == 0) {
    if (in_pos_ == in_len_ && !fill_raw()) {
      if (state_->zstd_last != 0) throw IoError("'" + path_ + "': truncated zstd data");
      return 0;
    }
    ZSTD_inBuffer i{in_.data(), in_len_, in_pos_};
    const size_t rc = ZSTD_decompressStream(state_->zstd, &o, &i);
    in_pos_ = i.pos;
    if (ZSTD_isError(rc))
      throw IoError("'" + path_ + "': corrupt zstd data (" + ZSTD_getErrorName(rc) + ")");
    state_->zstd_last = rc;
  }
  return o.pos;
#else
  (void)out;
  (void)n;
  return 0;
#endif
}

size_t ByteSource::read(char* out, size_t n) {
  if (n == 0) return 0;
  switch (codec_) {
    case Codec::kGzip: return inflate_some(out, n);
    case Codec::kZstd: return unzstd_some(out, n);
    case Codec::kPlain: break;
  }
  if (in_pos_ == in_len_ && !fill_raw()) return 0;
  const size_t k = std::min(n, in_len_ - in_pos_);
  std::memcpy(out, in_.data() + in_pos_, k);
  in_pos_ += k;
  return k;
}

bool ByteSource::read_more(std::string& s, size_t n) {
  const size_t old = s.size();
  s.resize(old + n);
  size_t got = 0;
  while (got < n) {
    const size_t k = read(&s[old + got], n - got);
    if (k == 0) break;
    got += k;
  }
  s.resize(old + got);
  return got > 0;
}

std::string ByteSource::sha256() {
  while (fill_raw()) {
  }
  return sha_.hex();
}

}  // namespace ptm::data
