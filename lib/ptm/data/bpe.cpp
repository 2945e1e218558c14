// The byte-level BPE tokenizer: pieces from the GPT-2 split, bytes to symbol ids, merges with
// a min-heap over (rank, position), results cached per piece.
#include "ptm/data/bpe.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <queue>
#include <unordered_map>

#include "ptm/core/errors.h"
#include "ptm/data/byte_level.h"
#include "ptm/data/pretokenize.h"
#include "ptm/data/tokenizer_cache.h"
#include "ptm/data/unicode.h"

namespace ptm::data {
namespace {

inline uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

class BpeTokenizer final : public BaseTokenizer {
 public:
  BpeTokenizer(BpeSpec spec, const std::string& source) : spec_(std::move(spec)) {
    for (size_t id = 0; id < spec_.vocab.size(); ++id)
      if (!spec_.vocab[id].empty()) vocab_.emplace(spec_.vocab[id], static_cast<int32_t>(id));
    merges_.reserve(spec_.merges.size() * 2);
    for (size_t rank = 0; rank < spec_.merges.size(); ++rank) {
      const auto [a, b] = spec_.merges[rank];
      const auto it = vocab_.find(spec_.vocab.at(a) + spec_.vocab.at(b));
      if (it == vocab_.end())
        throw ConfigError(Origin{source}, "model.merges",
                          "merge " + std::to_string(rank) + " (\"" + spec_.vocab[a] + "\" \"" + spec_.vocab[b] +
                              "\") makes a token that is not in the vocabulary");
      merges_.emplace(pair_key(a, b), Merge{static_cast<int32_t>(rank), it->second});
    }
    for (int b = 0; b < 256; ++b) {
      const auto it = vocab_.find(byte_level::byte_symbols()[b]);
      byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
    }
    if (spec_.unk_token) {
      const auto it = vocab_.find(*spec_.unk_token);
      if (it == vocab_.end())
        throw ConfigError(Origin{source}, "model.unk_token", "\"" + *spec_.unk_token + "\" is not in the vocabulary");
      unk_id_ = it->second;
    }
    if (spec_.byte_fallback)
      for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        const auto it = vocab_.find(name);
        fallback_ids_[b] = it == vocab_.end() ? -1 : it->second;
      }
    for (const auto& t : spec_.raw_added) raw_added_.add(t);
    for (const auto& t : spec_.normalized_added) normalized_added_.add(t);
    decoded_.resize(spec_.vocab.size());
    for (size_t id = 0; id < spec_.vocab.size(); ++id) byte_level::from_symbols(spec_.vocab[id], decoded_[id]);
  }

  std::string kind() const override { return "bpe"; }

  std::string to_hf_json() const override {
    auto j = hf_json_base();
    const nlohmann::ordered_json byte_level = {{"type", "ByteLevel"},
                                               {"add_prefix_space", spec_.add_prefix_space},
                                               {"trim_offsets", true},
                                               {"use_regex", spec_.use_regex}};
    if (spec_.pipeline) {
      j["normalizer"] = spec_.normalizer_json;
      j["pre_tokenizer"] = spec_.pre_tokenizer_json;
      j["decoder"] = spec_.decoder_json;
    } else {
      j["pre_tokenizer"] = byte_level;
      if (j["post_processor"].is_null()) {
        j["post_processor"] = byte_level;
        j["post_processor"]["trim_offsets"] = false;
      }
      j["decoder"] = byte_level;
    }
    nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
    for (size_t id = 0; id < spec_.vocab.size(); ++id)
      if (!spec_.vocab[id].empty()) vocab[spec_.vocab[id]] = id;
    auto merges = nlohmann::ordered_json::array();
    for (const auto& [a, b] : spec_.merges) merges.push_back({spec_.vocab[a], spec_.vocab[b]});
    j["model"] = {{"type", "BPE"},
                  {"dropout", nullptr},
                  {"unk_token", spec_.unk_token ? nlohmann::ordered_json(*spec_.unk_token) : nullptr},
                  {"continuing_subword_prefix", nullptr},
                  {"end_of_word_suffix", nullptr},
                  {"fuse_unk", spec_.fuse_unk},
                  {"byte_fallback", spec_.byte_fallback},
                  {"ignore_merges", spec_.ignore_merges},
                  {"vocab", vocab},
                  {"merges", merges}};
    return j.dump(2);
  }

  std::vector<int32_t> encode(std::string_view text) const override {
    if (spec_.normalized_added.empty()) return BaseTokenizer::encode(text);
    // AddedVocabulary::extract_and_normalize's two passes.
    std::vector<int32_t> out;
    auto token = [&](int32_t id) { out.push_back(id); };
    auto stretch = [&](std::string_view part) {
      const bool at_start = part.data() == text.data();
      const std::string normalized = spec_.pipeline->normalize(part);
      normalized_added_.split(
          normalized,
          [&](std::string_view rest) {
            thread_local std::vector<std::string> pieces;
            pieces.clear();
            spec_.pipeline->pre_tokenize(std::string(rest), at_start && rest.data() == normalized.data(), pieces);
            for (const auto& piece : pieces) encode_piece(piece, out);
          },
          token);
    };
    if (raw_added_.empty())
      stretch(text);
    else
      raw_added_.split(text, stretch, token);
    return out;
  }

  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = true) const override {
    if (!spec_.decoders) return BaseTokenizer::decode(ids, skip_special_tokens);
    // The file's decoders run on the whole token list (ByteFallback joins byte runs, Strip
    // and Metaspace look at the first token), added tokens included, as in `tokenizers`.
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (const int32_t id : ids) {
      if (const AddedToken* n = normalized_added_.by_id(id)) {
        // `tokenizers` decodes such a token as its normalized text ("▁<s>"), which is no
        // special token's text, so it stays even when specials are skipped.
        const AddedToken* same = added().by_content(n->content);
        if (!(skip_special_tokens && same && same->special)) tokens.push_back(n->content);
      } else if (const AddedToken* a = added().by_id(id)) {
        if (!(skip_special_tokens && a->special)) tokens.push_back(a->content);
      } else if (id >= 0 && static_cast<size_t>(id) < spec_.vocab.size() && !spec_.vocab[id].empty()) {
        tokens.push_back(spec_.vocab[id]);
      }
    }
    return run_decoders(*spec_.decoders, std::move(tokens));
  }

 protected:
  void encode_text_at(std::string_view text, bool at_start, std::vector<int32_t>& out) const override {
    if (!spec_.pipeline) {
      encode_text(text, out);
      return;
    }
    thread_local std::vector<std::string> pieces;
    pieces.clear();
    spec_.pipeline->run(text, at_start, pieces);
    for (const auto& piece : pieces) encode_piece(piece, out);
  }

  void encode_text(std::string_view text, std::vector<int32_t>& out) const override {
    std::string prefixed;
    if (spec_.add_prefix_space && text.front() != ' ') {
      prefixed.reserve(text.size() + 1);
      prefixed.push_back(' ');
      prefixed.append(text);
      text = prefixed;
    }
    if (!spec_.use_regex) {
      encode_piece(text, out);
      return;
    }
    std::vector<std::string_view> pieces;
    pieces.reserve(text.size() / 4 + 4);
    split_gpt2(text, pieces);
    for (const auto piece : pieces) encode_piece(piece, out);
  }

  bool decode_token(size_t, int32_t id, const std::string* added, std::string& out) const override {
    if (added) {
      byte_level::from_symbols(*added, out);
      return true;
    }
    if (id < 0 || static_cast<size_t>(id) >= spec_.vocab.size() || spec_.vocab[id].empty()) return false;
    out += decoded_[id];
    return true;
  }

  // Ids index spec_.vocab, whose empty slots (filled by added tokens) still count: the distinct
  // tokens alone could number fewer than the largest id (found by fuzzing).
  int64_t model_vocab_size() const override { return static_cast<int64_t>(spec_.vocab.size()); }
  std::optional<int32_t> model_token_to_id(const std::string& token) const override {
    const auto it = vocab_.find(token);
    return it == vocab_.end() ? std::nullopt : std::optional<int32_t>(it->second);
  }
  std::optional<std::string> model_id_to_token(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= spec_.vocab.size() || spec_.vocab[id].empty()) return std::nullopt;
    return spec_.vocab[id];
  }

 private:
  struct Merge {
    int32_t rank, id;
  };

  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
    const uint64_t h = hash_bytes(piece);
    if (cache_.lookup(piece, h, out)) return;
    const size_t before = out.size();
    merge_word(piece, out);
    cache_.insert(piece, h, out.data() + before, out.size() - before);
  }

  const Merge* find_merge(int32_t a, int32_t b) const {
    const auto it = merges_.find(pair_key(a, b));
    return it == merges_.end() ? nullptr : &it->second;
  }

  // BPE::merge_word's start for a model without ByteLevel: one symbol per character, else its
  // <0xNN> byte tokens (byte_fallback), else the unknown token (runs fused with fuse_unk).
  void char_symbols(std::string_view piece, std::vector<int32_t>& ids) const {
    const auto* s = reinterpret_cast<const unsigned char*>(piece.data());
    std::optional<int32_t> unk;
    thread_local std::string ch;
    for (size_t i = 0, len = 0; i < piece.size(); i += len) {
      unicode::decode_utf8(s + i, piece.size() - i, len);  // a byte that is not UTF-8: alone
      ch.assign(piece.substr(i, len));
      if (const auto it = vocab_.find(ch); it != vocab_.end()) {
        if (unk) ids.push_back(*unk), unk.reset();
        ids.push_back(it->second);
        continue;
      }
      if (spec_.byte_fallback) {
        bool all = true;
        for (size_t k = 0; k < len; ++k) all &= fallback_ids_[s[i + k]] >= 0;
        if (all) {  // (a pending unknown token waits, as in `tokenizers`)
          for (size_t k = 0; k < len; ++k) ids.push_back(fallback_ids_[s[i + k]]);
          continue;
        }
      }
      if (!unk_id_) continue;  // no symbol, no unk: dropped, as Hugging Face does
      if (unk && !spec_.fuse_unk) ids.push_back(*unk);
      unk = unk_id_;
    }
    if (unk) ids.push_back(*unk);
  }

  void merge_word(std::string_view piece, std::vector<int32_t>& out) const {
    if (spec_.ignore_merges) {
      const auto it = vocab_.find(spec_.byte_level ? byte_level::to_symbols(piece) : std::string(piece));
      if (it != vocab_.end()) {
        out.push_back(it->second);
        return;
      }
    }
    struct Sym {
      int32_t id, prev, next;
    };
    std::vector<Sym> syms;
    syms.reserve(piece.size());
    if (spec_.byte_level) {
      bool last_unk = false;
      for (const char c : piece) {
        const int32_t id = byte_ids_[static_cast<unsigned char>(c)];
        if (id < 0 && !unk_id_) continue;  // no symbol, no unk: dropped, as Hugging Face does
        if (id < 0 && last_unk && spec_.fuse_unk) continue;
        last_unk = id < 0;
        const auto n = static_cast<int32_t>(syms.size());
        syms.push_back({id < 0 ? *unk_id_ : id, n - 1, n + 1});
      }
    } else {
      thread_local std::vector<int32_t> ids;
      ids.clear();
      char_symbols(piece, ids);
      for (const int32_t id : ids) {
        const auto n = static_cast<int32_t>(syms.size());
        syms.push_back({id, n - 1, n + 1});
      }
    }
    if (syms.empty()) return;
    syms.back().next = -1;
    struct Cand {
      int32_t rank, pos, id;
      bool operator<(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }  // min-heap
    };
    std::priority_queue<Cand> heap;
    auto consider = [&](int32_t pos) {
      const int32_t next = syms[pos].next;
      if (next < 0) return;
      if (const Merge* m = find_merge(syms[pos].id, syms[next].id)) heap.push({m->rank, pos, m->id});
    };
    for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) consider(i);
    while (!heap.empty()) {
      const Cand c = heap.top();
      heap.pop();
      Sym& s = syms[c.pos];
      if (s.id < 0 || s.next < 0) continue;
      const Merge* m = find_merge(s.id, syms[s.next].id);
      if (!m || m->rank != c.rank) continue;  // stale: a neighbour changed since
      Sym& t = syms[s.next];
      s.id = m->id;
      s.next = t.next;
      t.id = -1;
      if (s.next >= 0) syms[s.next].prev = c.pos;
      if (s.prev >= 0) consider(s.prev);
      consider(c.pos);
    }
    for (int32_t i = 0; i >= 0; i = syms[i].next) out.push_back(syms[i].id);
  }

  BpeSpec spec_;
  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::array<int32_t, 256> byte_ids_{};
  std::optional<int32_t> unk_id_;
  std::array<int32_t, 256> fallback_ids_{};  // <0xNN> token ids, -1 where absent
  AddedVocab raw_added_, normalized_added_;   // the two passes (BpeSpec::normalized_added)
  std::vector<std::string> decoded_;
  WordCache cache_;
};

}  // namespace

std::unique_ptr<BaseTokenizer> make_bpe_tokenizer(BpeSpec spec, const std::string& source) {
  return std::make_unique<BpeTokenizer>(std::move(spec), source);
}

}  // namespace ptm::data
