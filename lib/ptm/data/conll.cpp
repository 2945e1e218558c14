// Reading CoNLL-style files and aligning word tags to word pieces.
#include "ptm/data/conll.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"

namespace ptm::data {
namespace {

std::vector<std::string> columns(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

std::vector<TaggedSentence> read_conll(const std::string& path) {
  std::istringstream in(fs_util::read_file(path));
  std::vector<TaggedSentence> out;
  TaggedSentence current;
  auto flush = [&] {
    if (!current.words.empty()) out.push_back(std::move(current));
    current = TaggedSentence{};
  };
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto cols = columns(line);
    if (cols.empty() || cols.front() == "-DOCSTART-") {  // a sentence (or document) ends
      flush();
      continue;
    }
    if (cols.size() < 2)
      throw IoError(path + ":" + std::to_string(lineno) + ": expected a word and its tag separated by whitespace, got '" +
                    line + "'");
    if (current.words.empty()) current.line = lineno;
    current.words.push_back(cols.front());
    current.tags.push_back(cols.back());
  }
  flush();
  if (out.empty()) throw IoError("'" + path + "' holds no sentences (one word and tag per line, blank lines between)");
  return out;
}

AlignedExample align_tags(const Tokenizer& tok, const std::vector<std::string>& words,
                          const std::vector<int64_t>& tags, const std::vector<int64_t>& continuation,
                          const AlignOptions& options) {
  std::vector<int32_t> pieces;
  std::vector<int64_t> word_of;
  // Byte-level BPE words take a leading space, as is_split_into_words with add_prefix_space does.
  const bool prefix_space = tok.kind() == "bpe";
  for (size_t w = 0; w < words.size(); ++w) {
    const auto ids = tok.encode(prefix_space ? " " + words[w] : words[w]);
    pieces.insert(pieces.end(), ids.begin(), ids.end());
    word_of.insert(word_of.end(), ids.size(), static_cast<int64_t>(w));
  }
  const PostProcessor& post = tok.post_processor();
  AlignedExample out;
  if (options.max_length > 0) {
    const auto added = static_cast<int64_t>(post.added_tokens(false));
    const int64_t keep = std::max<int64_t>(0, options.max_length - added);
    if (static_cast<int64_t>(pieces.size()) > keep) {
      for (int64_t i = keep; i < static_cast<int64_t>(word_of.size()); ++i)  // first pieces cut off
        out.words_cut += i == 0 || word_of[i] != word_of[i - 1];
      pieces.resize(keep);
      word_of.resize(keep);
    }
  }
  Encoding& e = out.encoding;
  for (const TemplatePiece& p : post.single) {
    if (p.kind == TemplatePiece::Kind::kSpecial) {
      e.ids.insert(e.ids.end(), p.ids.begin(), p.ids.end());
      e.type_ids.insert(e.type_ids.end(), p.ids.size(), p.type_id);
      out.labels.insert(out.labels.end(), p.ids.size(), kIgnoreLabel);
      continue;
    }
    if (p.kind != TemplatePiece::Kind::kSequenceA) continue;
    for (size_t i = 0; i < pieces.size(); ++i) {
      const int64_t tag = tags[word_of[i]];
      const bool first = i == 0 || word_of[i] != word_of[i - 1];
      e.ids.push_back(pieces[i]);
      e.type_ids.push_back(p.type_id);
      out.labels.push_back(first ? tag : options.label_all_pieces ? continuation[tag] : kIgnoreLabel);
    }
  }
  e.attention_mask.assign(e.ids.size(), 1);
  return out;
}

std::vector<int64_t> continuation_tags(const std::vector<std::string>& names) {
  std::map<std::string, int64_t> id;
  for (size_t i = 0; i < names.size(); ++i) id[names[i]] = static_cast<int64_t>(i);
  std::vector<int64_t> out(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    out[i] = static_cast<int64_t>(i);
    if (names[i].rfind("B-", 0) == 0) {
      const auto it = id.find("I-" + names[i].substr(2));
      if (it != id.end()) out[i] = it->second;
    }
  }
  return out;
}

}  // namespace ptm::data
