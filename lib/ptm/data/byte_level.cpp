// The byte-to-unicode table and the byte tokenizer.
#include "ptm/data/byte_level.h"

#include <memory>

#include "ptm/data/tokenizer_base.h"
#include "ptm/data/unicode.h"

namespace ptm::data {
namespace byte_level {
namespace {

struct Tables {
  std::array<uint32_t, 256> cp{};
  std::array<std::string, 256> utf8;
  std::array<int16_t, 324> byte_of{};  // symbols are below U+0144
  Tables() {
    byte_of.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      cp[b] = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + extra++);
      unicode::append_utf8(utf8[b], cp[b]);
      byte_of[cp[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

uint32_t byte_to_cp(uint8_t b) { return tables().cp[b]; }
const std::array<std::string, 256>& byte_symbols() { return tables().utf8; }
int cp_to_byte(uint32_t cp) { return cp < tables().byte_of.size() ? tables().byte_of[cp] : -1; }

std::string to_symbols(std::string_view bytes) {
  const auto& sym = tables().utf8;
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) out += sym[static_cast<unsigned char>(c)];
  return out;
}

bool from_symbols(std::string_view token, std::string& out) {
  const size_t start = out.size();
  const auto* s = reinterpret_cast<const unsigned char*>(token.data());
  for (size_t i = 0, len = 0; i < token.size(); i += len) {
    const uint32_t cp = unicode::decode_utf8(s + i, token.size() - i, len);
    const int b = cp == unicode::kInvalid ? -1 : cp_to_byte(cp);
    if (b < 0) {
      out.resize(start);
      out.append(token);
      return false;
    }
    out.push_back(static_cast<char>(b));
  }
  return true;
}

}  // namespace byte_level

namespace {

class ByteTokenizer final : public BaseTokenizer {
 public:
  std::string kind() const override { return "bytes"; }

  std::string to_hf_json() const override {
    // A BPE without merges over the 256 byte symbols, the whole text as one piece.
    auto j = hf_json_base();
    j["pre_tokenizer"] = {
        {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}};
    j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}};
    nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
    for (int b = 0; b < 256; ++b) vocab[byte_level::byte_symbols()[b]] = b;
    j["model"] = {{"type", "BPE"},
                  {"dropout", nullptr},
                  {"unk_token", nullptr},
                  {"continuing_subword_prefix", nullptr},
                  {"end_of_word_suffix", nullptr},
                  {"fuse_unk", false},
                  {"byte_fallback", false},
                  {"ignore_merges", false},
                  {"vocab", vocab},
                  {"merges", nlohmann::ordered_json::array()}};
    return j.dump(2);
  }

 protected:
  void encode_text(std::string_view text, std::vector<int32_t>& out) const override {
    for (const char c : text) out.push_back(static_cast<unsigned char>(c));
  }
  bool decode_token(size_t, int32_t id, const std::string* added, std::string& out) const override {
    if (added) {
      byte_level::from_symbols(*added, out);
      return true;
    }
    if (id < 0 || id > 255) return false;
    out.push_back(static_cast<char>(id));
    return true;
  }
  int64_t model_vocab_size() const override { return 256; }
  std::optional<int32_t> model_token_to_id(const std::string& token) const override {
    size_t len = 0;
    const uint32_t cp =
        token.empty() ? unicode::kInvalid
                      : unicode::decode_utf8(reinterpret_cast<const unsigned char*>(token.data()), token.size(), len);
    if (cp == unicode::kInvalid || len != token.size()) return std::nullopt;
    const int b = byte_level::cp_to_byte(cp);
    return b < 0 ? std::nullopt : std::optional<int32_t>(b);
  }
  std::optional<std::string> model_id_to_token(int32_t id) const override {
    if (id < 0 || id > 255) return std::nullopt;
    return byte_level::byte_symbols()[id];
  }
};

}  // namespace

std::unique_ptr<Tokenizer> make_byte_tokenizer(const std::vector<std::string>& special_tokens) {
  auto tok = std::make_unique<ByteTokenizer>();
  int32_t next = 256;
  for (const auto& s : special_tokens)
    if (!s.empty() && !tok->added().by_content(s)) tok->add_token(AddedToken{s, next++});
  return tok;
}

}  // namespace ptm::data
