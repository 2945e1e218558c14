// Corpus preparation: read documents, build the tokenizer, encode with all cores, split,
// write shards and the manifest.
#include "ptm/data/prepare.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <optional>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/log.h"
#include "ptm/core/version.h"
#include "ptm/core/sha256.h"
#include "ptm/core/splitmix.h"
#include "ptm/data/shard.h"

namespace fs = std::filesystem;

namespace ptm::data {
namespace {

bool has_extension(const std::string& name, const std::vector<std::string>& exts) {
  for (const auto& e : exts)
    if (name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) return true;
  return false;
}

struct Document {
  std::string text;
  size_t source = 0;  // index into the source file list
};

void read_documents(const std::string& path, size_t index, const PrepareConfig& c, std::vector<Document>& out) {
  for (auto& text : parse_documents(fs_util::read_file(path), path, c.format, c.field))
    out.push_back({std::move(text), index});
}

// Splits a document into pieces that encode independently to the same ids: cuts right after
// a lone newline (a non-space character on both sides). No pre-token spans such a point: the
// newline ends its own whitespace pre-token, and a longer whitespace run would be split
// differently at the end of a piece than inside the text (GPT-2's \s+(?!\S) rule).
std::vector<std::string_view> chunks_of(const std::string& text, size_t target) {
  auto space = [&](size_t i) { return std::isspace(static_cast<unsigned char>(text[i])) != 0; };
  std::vector<std::string_view> out;
  size_t start = 0;
  while (text.size() - start > target) {
    size_t cut = text.find('\n', start + target);
    while (cut != std::string::npos && cut + 1 < text.size() && (space(cut - 1) || space(cut + 1)))
      cut = text.find('\n', cut + 1);
    if (cut == std::string::npos || cut + 1 >= text.size()) break;
    out.emplace_back(text.data() + start, cut + 1 - start);
    start = cut + 1;
  }
  out.emplace_back(text.data() + start, text.size() - start);
  return out;
}

// Encodes every chunk with `threads` workers; results in input order.
std::vector<std::vector<int32_t>> encode_all(const Tokenizer& tok, const std::vector<std::string_view>& chunks,
                                             int threads) {
  std::vector<std::vector<int32_t>> out(chunks.size());
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (size_t i; (i = next++) < chunks.size();) {
      try {
        out[i] = tok.encode(chunks[i]);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = chunks.size();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return out;
}

// Writes one split as shards of at most `shard_tokens` tokens.
nlohmann::json write_split(const std::string& dir, const std::string& name, const std::vector<int32_t>& tokens,
                           int64_t vocab, int64_t shard_tokens) {
  nlohmann::json shards = nlohmann::json::array();
  for (size_t start = 0, k = 0; start < tokens.size() || k == 0; start += shard_tokens, ++k) {
    char file[64];
    std::snprintf(file, sizeof(file), "%s_%06zu.bin", name.c_str(), k);
    ShardWriter w(dir + "/" + file, vocab);
    const size_t n = std::min<size_t>(shard_tokens, tokens.size() - start);
    w.append(tokens.data() + start, n);
    w.close();
    shards.push_back({{"file", file}, {"tokens", n}, {"sha256", sha256_file(dir + "/" + file)}});
  }
  return shards;
}

}  // namespace

std::vector<std::string> parse_documents(const std::string& content, const std::string& path,
                                         const std::string& format, const std::string& field) {
  if (format == "text") return {content};
  std::vector<std::string> out;
  std::istringstream in(content);
  std::string line;
  int64_t lineno = 0;
  int column = -1;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (format == "jsonl") {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const std::exception&) {
        throw IoError(path + ":" + std::to_string(lineno) + ": not a JSON object");
      }
      if (!j.is_object() || !j.contains(field) || !j[field].is_string())
        throw IoError(path + ":" + std::to_string(lineno) + ": no string field '" + field + "'");
      out.push_back(j[field].get<std::string>());
    } else {  // tsv with a header row naming the columns
      std::vector<std::string> cells;
      std::string cell;
      std::istringstream row(line);
      while (std::getline(row, cell, '\t')) cells.push_back(cell);
      if (column < 0) {
        const auto it = std::find(cells.begin(), cells.end(), field);
        if (it == cells.end()) throw IoError(path + ":1: no column '" + field + "' in the TSV header");
        column = static_cast<int>(it - cells.begin());
        continue;
      }
      if (static_cast<int>(cells.size()) <= column)
        throw IoError(path + ":" + std::to_string(lineno) + ": missing column '" + field + "'");
      out.push_back(cells[column]);
    }
  }
  return out;
}

void bind(config::Section& s, PrepareConfig& c) {
  if (s.req("sources", c.sources, "files or folders of text").ok() && c.sources.empty())
    s.problem("sources", "needs at least one file or folder");
  s.opt("extensions", c.extensions, "file endings taken from folders");
  s.opt("format", c.format, "text | jsonl | tsv").one_of({"text", "jsonl", "tsv"});
  s.opt("field", c.field, "JSONL key or TSV column with the text");
  s.req("out", c.out, "output folder");
  s.opt("val_fraction", c.val_fraction, "share of the data held out for validation").min(0.0).max(0.5);
  s.opt("shard_tokens", c.shard_tokens, "tokens per shard file").min(1).max(INT32_MAX);
  s.opt("threads", c.threads, "encoding threads (0 = all cores)").min(0).max(1024);
  s.opt("tokenizer_train_bytes", c.tokenizer_train_bytes, "text used to train the tokenizer (0 = all)").min(0);
  s.opt("eos_token", c.eos_token, "token appended after each document (default: the first special)");
  s.opt("seed", c.seed, "seed of the document-level split").min(0);
  c.tokenizer = parse_tokenizer(s.sub("tokenizer"));
  s.finish();
  for (size_t i = 0; i < c.sources.size(); ++i)
    if (!fs::exists(c.sources[i]))
      s.problem("sources", "'" + c.sources[i] + "' does not exist" +
                               (c.sources[i].rfind("data/", 0) == 0 ? " (run scripts/get-data.sh)" : ""));
}

std::vector<std::string> expand_sources(const PrepareConfig& c) {
  std::vector<std::string> files;
  for (const auto& src : c.sources) {
    if (!fs::exists(src)) throw IoError("source '" + src + "' does not exist");
    if (fs::is_directory(src)) {
      for (const auto& e : fs::recursive_directory_iterator(src, fs::directory_options::follow_directory_symlink))
        if (e.is_regular_file() && has_extension(e.path().filename().string(), c.extensions))
          files.push_back(e.path().string());
    } else {
      files.push_back(src);
    }
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  if (files.empty()) throw IoError("the sources hold no files ending in one of the extensions");
  return files;
}

PrepareResult prepare_corpus(const PrepareConfig& c, const std::string& resolved_yaml, bool overwrite) {
  const auto t0 = std::chrono::steady_clock::now();
  if (fs::exists(c.out) && !overwrite)
    throw ConfigError(Origin{c.out}, "prepare.out", "already exists; pass --overwrite to replace it");
  const int threads = c.threads > 0 ? c.threads : std::max(1u, std::thread::hardware_concurrency());

  // 1. Documents.
  const auto files = expand_sources(c);
  std::vector<Document> docs;
  nlohmann::json sources = nlohmann::json::array();
  int64_t total_bytes = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const size_t before = docs.size();
    read_documents(files[i], i, c, docs);
    const auto bytes = static_cast<int64_t>(fs::file_size(files[i]));
    total_bytes += bytes;
    sources.push_back({{"path", files[i]}, {"bytes", bytes}, {"sha256", sha256_file(files[i])},
                       {"documents", docs.size() - before}});
  }
  docs.erase(std::remove_if(docs.begin(), docs.end(), [](const Document& d) { return d.text.empty(); }), docs.end());
  if (docs.empty()) throw IoError("the sources hold no text (" + std::to_string(files.size()) + " empty files)");
  log::info("prepare: " + std::to_string(files.size()) + " files, " + std::to_string(docs.size()) + " documents, " +
            std::to_string(total_bytes / 1000000.0).substr(0, 6) + " MB");

  // 2. Tokenizer.
  std::vector<std::string> corpus;
  if (c.tokenizer.needs_corpus) {
    int64_t used = 0;
    for (const auto& d : docs) {
      if (c.tokenizer_train_bytes > 0 && used >= c.tokenizer_train_bytes) break;
      corpus.push_back(d.text);
      used += static_cast<int64_t>(d.text.size());
    }
    log::info("prepare: training the " + c.tokenizer.type + " tokenizer on " + std::to_string(used / 1000000.0).substr(0, 6) + " MB");
  }
  const auto tok = c.tokenizer.build(corpus);
  corpus.clear();
  const int64_t vocab = tok->vocab_size();
  std::optional<int32_t> eos;
  if (!c.eos_token.empty()) {
    eos = tok->token_to_id(c.eos_token);
    if (!eos) throw ConfigError(Origin{}, "prepare.eos_token", "'" + c.eos_token + "' is not in the tokenizer's vocabulary");
  } else {
    for (const char* name : {"<|endoftext|>", "[SEP]", "</s>"})
      if ((eos = tok->token_to_id(name))) break;
  }

  // 3. Encode every document (chunks in parallel), then split train/val.
  std::vector<std::string_view> chunks;
  std::vector<size_t> chunk_doc;
  for (size_t d = 0; d < docs.size(); ++d)
    for (auto piece : chunks_of(docs[d].text, 1 << 18)) {
      chunks.push_back(piece);
      chunk_doc.push_back(d);
    }
  const auto t_enc = std::chrono::steady_clock::now();
  auto encoded = encode_all(*tok, chunks, threads);
  const double enc_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_enc).count();
  log::info("prepare: encoded " + std::to_string(total_bytes / 1e6).substr(0, 6) + " MB with " + std::to_string(threads) +
            " threads in " + std::to_string(enc_s).substr(0, 5) + " s");

  // Many documents: each goes whole to train or val (seeded). Few documents: every document
  // gives its last val_fraction of tokens to val, so both splits see every source.
  const bool by_document = docs.size() >= 100;
  std::vector<int32_t> train, val;
  for (size_t i = 0, d = 0; d < docs.size(); ++d) {
    std::vector<int32_t> ids;
    for (; i < chunks.size() && chunk_doc[i] == d; ++i) ids.insert(ids.end(), encoded[i].begin(), encoded[i].end());
    if (eos) ids.push_back(*eos);
    if (by_document) {
      const double u = (splitmix64(static_cast<uint64_t>(c.seed) * 1000003u + d) >> 11) * (1.0 / 9007199254740992.0);
      auto& dst = u < c.val_fraction ? val : train;
      dst.insert(dst.end(), ids.begin(), ids.end());
    } else {
      const size_t n_val = static_cast<size_t>(c.val_fraction * static_cast<double>(ids.size()));
      train.insert(train.end(), ids.begin(), ids.end() - n_val);
      val.insert(val.end(), ids.end() - n_val, ids.end());
    }
  }
  encoded.clear();
  if (c.val_fraction > 0 && val.empty())
    throw IoError("the corpus is too small for val_fraction " + std::to_string(c.val_fraction) + ": no validation tokens");

  // 4. Write everything into a temporary folder, then rename it into place.
  const std::string tmp = c.out + ".partial-" + std::to_string(::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    fs_util::write_file_atomic(tmp + "/tokenizer.json", tok->to_hf_json());
    fs_util::write_file_atomic(tmp + "/prepare.yaml", resolved_yaml);
    nlohmann::json manifest;
    manifest["ptm_version"] = version();
    manifest["git_revision"] = git_revision();
    manifest["sources"] = sources;
    manifest["format"] = c.format;
    manifest["documents"] = docs.size();
    manifest["split"] = {{"val_fraction", c.val_fraction}, {"by", by_document ? "document" : "tail of each document"},
                         {"seed", c.seed}};
    manifest["tokenizer"] = {{"file", "tokenizer.json"}, {"kind", tok->kind()}, {"vocab_size", vocab},
                             {"sha256", sha256_file(tmp + "/tokenizer.json")},
                             {"eos_id", eos ? nlohmann::json(*eos) : nlohmann::json()}};
    manifest["token_bytes"] = token_bytes_for_vocab(vocab);
    manifest["train"] = {{"tokens", train.size()}, {"shards", write_split(tmp, "train", train, vocab, c.shard_tokens)}};
    manifest["val"] = {{"tokens", val.size()}, {"shards", write_split(tmp, "val", val, vocab, c.shard_tokens)}};
    fs_util::write_file_atomic(tmp + "/manifest.json", manifest.dump(2) + "\n");
    if (fs::exists(c.out)) fs::remove_all(c.out);  // --overwrite, and the new one is complete
    if (!fs::path(c.out).parent_path().empty()) fs::create_directories(fs::path(c.out).parent_path());
    fs::rename(tmp, c.out);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }

  PrepareResult r;
  r.out = c.out;
  r.documents = static_cast<int64_t>(docs.size());
  r.train_tokens = static_cast<int64_t>(train.size());
  r.val_tokens = static_cast<int64_t>(val.size());
  r.vocab_size = vocab;
  r.manifest_sha256 = sha256_file(c.out + "/manifest.json");
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace ptm::data
