// Tokenizer loading (load_tokenizer, data/tokenizer.h) from tokenizer.json, vocab.txt or
// vocab.json + merges.txt, then encoding and decoding with what loaded. The first byte picks
// the format; for GPT-2 files a NUL byte separates vocab.json from merges.txt. The files are
// written to a private folder (tmpfs when there is one) and loaded the way users load them.
// Bad files must end in a ConfigError naming the file; a loaded tokenizer must encode and
// decode without crashing.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "ptm/core/errors.h"
#include "ptm/data/tokenizer.h"

namespace {

const std::string& folder() {
  // Never destroyed: the exit handler that removes the folder runs after static destructors.
  static const std::string* dir = [] {
    namespace fs = std::filesystem;
    const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    const fs::path d = base / ("ptm-fuzz-tokenizer-" + std::to_string(::getpid()));
    fs::create_directories(d);
    std::atexit([] { std::filesystem::remove_all(folder()); });
    return new std::string(d.string());
  }();
  return *dir;
}

std::string put(const std::string& name, const std::string& content) {
  const std::string path = folder() + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(content.data(), 1, content.size(), f) != content.size()) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ptm::data;
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string path;
  switch (data[0] % 3) {
    case 0:
      path = put("tokenizer.json", body);
      break;
    case 1:
      path = put("vocab.txt", body);
      break;
    default: {
      const size_t nul = body.find('\0');
      put("vocab.json", body.substr(0, nul));
      path = put("merges.txt", nul == std::string::npos ? "" : body.substr(nul + 1));
    }
  }
  std::unique_ptr<Tokenizer> tok;
  try {
    tok = load_tokenizer(path);
  } catch (const ptm::ConfigError&) {
    return 0;
  }
  if (!tok) std::abort();
  // Text that touches the common paths: ASCII, accents, CJK, emoji, control bytes, specials.
  static const std::string text =
      "Hello, WORLD! caf\xC3\xA9 na\xC3\xAFve \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80 \t\n [CLS] <|endoftext|> ##ing";
  try {
    const auto ids = tok->encode(text);
    for (int32_t id : ids)
      if (id < 0 || id >= tok->vocab_size()) std::abort();
    tok->decode(ids);
    EncodeOptions eo;
    eo.max_length = 16;
    eo.pad_to_max_length = true;
    encode_for_model(*tok, text, std::string_view("pair"), eo);
    for (int32_t id = 0; id < tok->vocab_size() && id < 64; ++id) tok->id_to_token(id);
  } catch (const ptm::Error&) {  // a clear ptm error (e.g. no unknown token) is an answer too
  }
  return 0;
}
