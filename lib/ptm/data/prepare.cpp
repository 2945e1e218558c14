// Corpus preparation: scan the files (prepare_read.h), build the tokenizer, then stream pieces
// of documents through the encoders into shards, with checkpoints to resume from.
#include "ptm/data/prepare.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "ptm/config/emit.h"
#include "ptm/config/load.h"
#include "ptm/core/errors.h"
#include "ptm/core/file_lock.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/log.h"
#include "ptm/core/sha256.h"
#include "ptm/core/splitmix.h"
#include "ptm/core/version.h"
#include "ptm/data/dedup.h"
#include "ptm/data/doc_stream.h"
#include "ptm/data/prepare_read.h"
#include "ptm/data/shard.h"

namespace fs = std::filesystem;

namespace ptm::data {
namespace {

using prep::Clock;
using prep::kMaxSources;
using prep::mb;
using prep::Piece;
using prep::PieceReader;
using prep::Progress;
using prep::Scan;
using prep::scan_files;
using prep::scan_from_json;

bool has_extension(const std::string& name, const std::vector<std::string>& exts) {
  const std::string base = without_compression_suffix(name);
  for (const auto& e : exts)
    if (base.size() >= e.size() && base.compare(base.size() - e.size(), e.size(), e) == 0) return true;
  return false;
}

// Encodes every piece with `threads` workers; results in input order, whatever the threads.
std::vector<std::vector<int32_t>> encode_all(const Tokenizer& tok, const std::vector<Piece>& pieces, int threads) {
  std::vector<std::vector<int32_t>> out(pieces.size());
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (size_t i; (i = next++) < pieces.size();) {
      try {
        out[i] = tok.encode(pieces[i].text);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = pieces.size();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return out;
}

// One split's token stream cut into shards of `shard_tokens`. `pos` counts every token routed
// here; after a resume the ones already on disk (finished shards and the open one's flushed
// tokens) are dropped.
class SplitWriter {
 public:
  SplitWriter(std::string dir, std::string name, int64_t vocab, int64_t shard_tokens)
      : dir_(std::move(dir)), name_(std::move(name)), vocab_(vocab), shard_tokens_(shard_tokens) {}

  // Continues from a checkpoint's state() at token `pos` of this split.
  void resume(const nlohmann::json& state, int64_t pos) {
    shards_ = state.at("shards");
    int64_t done = 0;
    for (const auto& s : shards_) done += s.at("tokens").get<int64_t>();
    if (const auto& open = state.at("open"); !open.is_null()) {
      cur_ = std::make_unique<ShardWriter>(dir_ + "/" + file_name(), vocab_,
                                           dir_ + "/" + open.at("file").get<std::string>(), open.at("tokens"));
      done += cur_->tokens();
    }
    on_disk_ = done;
    pos_ = pos;
  }
  // The finished shards and the open one (flushed), for a checkpoint.
  nlohmann::json state() {
    nlohmann::json open;
    if (cur_) {
      cur_->flush();
      open = {{"file", fs::path(cur_->temp_path()).filename().string()}, {"tokens", cur_->tokens()}};
    }
    return {{"shards", shards_}, {"open", open}};
  }
  // True when a shard was finished.
  bool append(const int32_t* p, size_t n) {
    if (pos_ < on_disk_) {
      const size_t drop = std::min<size_t>(n, static_cast<size_t>(on_disk_ - pos_));
      p += drop;
      n -= drop;
      pos_ += static_cast<int64_t>(drop);
    }
    bool closed = false;
    while (n > 0) {
      if (!cur_) open();
      const size_t k = std::min<size_t>(n, static_cast<size_t>(shard_tokens_ - cur_->tokens()));
      cur_->append(p, k);
      p += k;
      n -= k;
      pos_ += static_cast<int64_t>(k);
      if (cur_->tokens() == shard_tokens_) {
        close();
        closed = true;
      }
    }
    return closed;
  }
  // Closes the last shard; an empty split still gets its first, empty shard.
  void finish() {
    if (!cur_ && shards_.empty()) open();
    if (cur_) close();
  }
  int64_t pos() const { return pos_; }
  const nlohmann::json& shards() const { return shards_; }

 private:
  std::string file_name() const {
    char file[64];
    std::snprintf(file, sizeof(file), "%s_%06zu.bin", name_.c_str(), shards_.size());
    return file;
  }
  void open() { cur_ = std::make_unique<ShardWriter>(dir_ + "/" + file_name(), vocab_); }
  void close() {
    const auto file = file_name();
    const int64_t n = cur_->tokens();
    cur_->close();
    cur_.reset();
    shards_.push_back({{"file", file}, {"tokens", n}, {"sha256", sha256_file(dir_ + "/" + file)}});
  }

  std::string dir_, name_;
  int64_t vocab_, shard_tokens_;
  std::unique_ptr<ShardWriter> cur_;
  nlohmann::json shards_ = nlohmann::json::array();
  int64_t on_disk_ = 0, pos_ = 0;
};

// A document's ids held until its end (the tail split needs its length), spilled to an
// anonymous file past `limit` bytes so that one huge document does not break the bound.
class DocumentBuffer {
 public:
  explicit DocumentBuffer(size_t limit) : limit_(std::max<size_t>(limit / sizeof(int32_t), 1)) {}
  ~DocumentBuffer() {
    if (spill_) std::fclose(spill_);
  }
  void add(const std::vector<int32_t>& ids) {
    ids_.insert(ids_.end(), ids.begin(), ids.end());
    if (ids_.size() < limit_) return;
    if (!spill_ && !(spill_ = std::tmpfile())) throw IoError("cannot create a temporary file for a long document");
    if (std::fwrite(ids_.data(), sizeof(int32_t), ids_.size(), spill_) != ids_.size())
      throw IoError("cannot write the temporary file of a long document");
    spilled_ += ids_.size();
    ids_.clear();
  }
  size_t size() const { return spilled_ + ids_.size(); }
  // Calls `f(ptr, n)` on the ids in order, then empties the buffer.
  template <class F>
  void drain(F&& f) {
    if (spilled_ > 0) {
      std::rewind(spill_);
      std::vector<int32_t> block(std::min(spilled_, limit_));
      for (size_t left = spilled_; left > 0;) {
        const size_t k = std::min(left, block.size());
        if (std::fread(block.data(), sizeof(int32_t), k, spill_) != k)
          throw IoError("cannot read back the temporary file of a long document");
        f(block.data(), k);
        left -= k;
      }
      std::fclose(spill_);
      spill_ = nullptr;
      spilled_ = 0;
    }
    f(ids_.data(), ids_.size());
    ids_.clear();
  }

 private:
  size_t limit_, spilled_ = 0;
  std::vector<int32_t> ids_;
  std::FILE* spill_ = nullptr;
};

// The recipe's prepare: section less the settings that do not change the output (threads,
// memory_mb): a killed run may be continued with other resources.
std::string output_settings(const std::string& resolved_yaml) {
  try {
    auto root = config::parse_yaml(resolved_yaml, "prepare.yaml");
    auto* prepare = root.find("prepare");
    if (!prepare || !prepare->is_map()) return resolved_yaml;
    prepare->erase("threads");
    prepare->erase("memory_mb");
    return config::to_yaml(*prepare);
  } catch (const std::exception&) {
    return resolved_yaml;
  }
}

// Identifies a preparation: the recipe's output settings and every source file's size and
// time. A partial folder with another fingerprint is not resumed.
std::string fingerprint(const std::string& resolved_yaml, const std::vector<std::string>& files) {
  Sha256 h;
  h.update(output_settings(resolved_yaml));
  for (const auto& f : files) {
    struct stat st {};
    ::stat(f.c_str(), &st);
    h.update(f + "\n" + std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
             std::to_string(st.st_mtim.tv_nsec) + "\n");
  }
  return h.hex();
}

std::optional<nlohmann::json> read_json(const std::string& path) {
  if (!fs::exists(path)) return std::nullopt;
  try {
    return nlohmann::json::parse(fs_util::read_file(path));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::vector<std::string> parse_documents(const std::string& content, const std::string& path,
                                         const std::string& format, const std::string& field) {
  if (format == "text") return {content};
  std::vector<std::string> out;
  RecordParser parser(path, format, field);
  std::istringstream in(content);
  std::string line, text;
  while (std::getline(in, line))
    if (parser.line(line, text)) out.push_back(std::move(text));
  return out;
}

void bind(config::Section& s, PrepareConfig& c) {
  if (s.req("sources", c.sources, "files or folders of text").ok() && c.sources.empty())
    s.problem("sources", "needs at least one file or folder");
  s.opt("extensions", c.extensions, "file endings taken from folders (also with .gz, .zst)");
  s.opt("format", c.format, "text | jsonl | tsv").one_of({"text", "jsonl", "tsv"});
  s.opt("field", c.field, "JSONL key or TSV column with the text");
  s.req("out", c.out, "output folder");
  s.opt("val_fraction", c.val_fraction, "share of the data held out for validation").min(0.0).max(0.5);
  s.opt("shard_tokens", c.shard_tokens, "tokens per shard file").min(1).max(INT32_MAX);
  s.opt("threads", c.threads, "threads for reading and encoding (0 = all cores)").min(0).max(1024);
  s.opt("tokenizer_train_bytes", c.tokenizer_train_bytes, "text used to train the tokenizer (0 = all)").min(0);
  s.opt("eos_token", c.eos_token, "token appended after each document (default: the first special)");
  s.opt("seed", c.seed, "seed of the document-level split").min(0);
  s.opt("memory_mb", c.memory_mb, "bound on text and token ids in flight, in MB").min(8);
  s.opt("min_document_bytes", c.min_document_bytes, "shorter documents are dropped").min(1);
  s.opt("max_document_bytes", c.max_document_bytes, "longer documents are dropped (0 = no limit)").min(0);
  s.opt("invalid_utf8", c.invalid_utf8,
        "bytes that are not UTF-8: replace (by U+FFFD, as Python's errors=\"replace\") | skip (the document) | error")
      .one_of({"replace", "skip", "error"});
  c.tokenizer = parse_tokenizer(s.sub("tokenizer"));
  auto dedup = s.sub("dedup");
  bind(dedup, c.dedup);
  if (s.opt("weights", c.weights, "one weight per source: a mixture in these proportions of text bytes").ok() &&
      !c.weights.empty()) {
    double sum = 0;
    bool negative = false;
    for (const double w : c.weights) {
      negative = negative || !(w >= 0);
      sum += w;
    }
    if (c.weights.size() != c.sources.size())
      s.problem("weights", "needs one weight per source: " + std::to_string(c.sources.size()) + " sources, " +
                               std::to_string(c.weights.size()) + " weights");
    else if (c.weights.size() > kMaxSources)
      s.problem("weights", "at most " + std::to_string(kMaxSources) + " weighted sources");
    else if (negative)
      s.problem("weights", "must be >= 0");
    else if (!(sum > 0))
      s.problem("weights", "must not all be 0");
  }
  s.finish();
  for (size_t i = 0; i < c.sources.size(); ++i)
    if (!fs::exists(c.sources[i]))
      s.problem("sources", "'" + c.sources[i] + "' does not exist" +
                               (c.sources[i].rfind("data/", 0) == 0 ? " (run scripts/get-data.sh)" : ""));
}

std::vector<std::vector<std::string>> expand_sources(const PrepareConfig& c) {
  std::vector<std::vector<std::string>> out;
  for (const auto& src : c.sources) {
    if (!fs::exists(src)) throw IoError("source '" + src + "' does not exist");
    if (out.empty() || !c.weights.empty()) out.emplace_back();
    auto& files = out.back();
    if (fs::is_directory(src)) {
      const size_t before = files.size();
      for (const auto& e : fs::recursive_directory_iterator(src, fs::directory_options::follow_directory_symlink))
        if (e.is_regular_file() && has_extension(e.path().filename().string(), c.extensions))
          files.push_back(e.path().string());
      if (!c.weights.empty() && files.size() == before)
        throw IoError("source '" + src + "' holds no files ending in one of the extensions");
    } else {
      files.push_back(src);
    }
  }
  for (auto& files : out) {
    std::sort(files.begin(), files.end());
    files.erase(std::unique(files.begin(), files.end()), files.end());
  }
  if (out.empty() || out[0].empty()) throw IoError("the sources hold no files ending in one of the extensions");
  return out;
}

PrepareResult prepare_corpus(const PrepareConfig& c, const std::string& resolved_yaml, bool overwrite) {
  const auto t0 = Clock::now();
  if (fs::exists(c.out) && !overwrite)
    throw ConfigError(Origin{c.out}, "prepare.out", "already exists; pass --overwrite to replace it");
  // One prepare per output at a time: a second one would delete the first one's <out>.partial files.
  if (!fs::path(c.out).parent_path().empty()) fs::create_directories(fs::path(c.out).parent_path());
  const FileLock lock(c.out + ".lock", "preparing '" + c.out + "'");
  const int threads = prep::prepare_threads(c);
  const auto sources = expand_sources(c);
  std::vector<std::string> files;
  for (const auto& f : sources) files.insert(files.end(), f.begin(), f.end());
  const std::string tmp = c.out + ".partial";
  const std::string print = fingerprint(resolved_yaml, files);

  // 1. A killed run of the same recipe is continued; anything else under <out>.partial goes.
  std::optional<Scan> scan;
  std::unique_ptr<Tokenizer> tok;
  const auto scan_json = read_json(tmp + "/scan.json");
  if (scan_json && scan_json->value("fingerprint", "") == print && fs::exists(tmp + "/tokenizer.json")) {
    // A trained tokenizer comes back from its file (if it round-trips); any other is built
    // again from the recipe, as the uninterrupted run built it.
    // Anything unreadable there (another version's files) means starting over.
    try {
      const auto saved = fs_util::read_file(tmp + "/tokenizer.json");
      auto loaded = c.tokenizer.needs_corpus ? load_tokenizer(tmp + "/tokenizer.json") : c.tokenizer.build({});
      if (loaded->to_hf_json() == saved) {
        scan = scan_from_json(*scan_json);
        tok = std::move(loaded);
      }
    } catch (const std::exception&) {
      scan.reset();
    }
  }
  // The checkpoint's shards: the finished ones and the open one of each split. An open file
  // may have been finished and renamed before the kill (and the next checkpoint): it is
  // continued under its new name. A checkpoint with files missing is not used.
  auto resume = scan ? read_json(tmp + "/resume.json") : std::nullopt;
  std::vector<std::string> keep{"tokenizer.json", "prepare.yaml", "scan.json"};
  if (resume && resume->value("fingerprint", "") == print && resume->contains("doc")) {
    keep.push_back("resume.json");
    for (const char* split : {"train", "val"}) {
      auto& sp = (*resume)[split];
      for (const auto& sh : sp["shards"]) keep.push_back(sh.at("file"));
      auto& open = sp["open"];
      if (open.is_null()) continue;
      if (!fs::exists(tmp + "/" + open.at("file").get<std::string>())) {
        char name[64];
        std::snprintf(name, sizeof(name), "%s_%06zu.bin", split, sp["shards"].size());
        open["file"] = name;
      }
      keep.push_back(open.at("file"));
    }
    for (size_t i = 4; i < keep.size() && resume; ++i)
      if (!fs::exists(tmp + "/" + keep[i])) resume.reset();
    if (!resume) keep.resize(3);
  } else {
    resume.reset();
  }
  if (scan) {  // drop what the checkpoint does not list (half-written files too)
    for (const auto& e : fs::directory_iterator(tmp))
      if (std::find(keep.begin(), keep.end(), e.path().filename().string()) == keep.end()) fs::remove_all(e.path());
  }
  if (!scan) {
    fs::remove_all(tmp);
    fs::create_directories(tmp);
  }
  PrepareResult r;
  r.resumed = scan.has_value();
  try {
    // 2. Pass 1 and the tokenizer.
    if (!scan) {
      std::vector<std::string> sample;
      scan = scan_files(sources, c, c.tokenizer.needs_corpus ? &sample : nullptr);
      if (scan->documents == 0)
        throw IoError("the sources hold no text (" + std::to_string(files.size()) + " files" +
                      (scan->dropped_length > 0
                           ? ", " + std::to_string(scan->dropped_length) + " documents outside the length filter"
                           : std::string(scan->dropped_exact + scan->dropped_near + scan->dropped_invalid_utf8 > 0
                                             ? ""
                                             : ", all empty")) +
                      (scan->dropped_invalid_utf8 > 0 ? ", " + std::to_string(scan->dropped_invalid_utf8) +
                                                            " skipped for invalid UTF-8 (prepare.invalid_utf8)"
                                                      : std::string()) +
                      ")");
      if (c.tokenizer.needs_corpus) {
        int64_t used = 0;
        for (const auto& t : sample) used += static_cast<int64_t>(t.size());
        log::info("prepare: training the " + c.tokenizer.type + " tokenizer on " + mb(static_cast<double>(used)) + " MB");
      }
      tok = c.tokenizer.build(sample);
      sample = {};
      fs_util::write_file_atomic(tmp + "/tokenizer.json", tok->to_hf_json());
      fs_util::write_file_atomic(tmp + "/prepare.yaml", resolved_yaml);
      auto j = to_json(*scan);
      j["fingerprint"] = print;
      fs_util::write_file_atomic(tmp + "/scan.json", j.dump() + "\n");
    }
    log::info("prepare: " + std::to_string(files.size()) + " files, " + std::to_string(scan->documents) +
              " documents, " + mb(static_cast<double>(scan->text_bytes)) + " MB" +
              (r.resumed ? " (resuming " + tmp + ")" : ""));
    const int64_t vocab = tok->vocab_size();
    std::optional<int32_t> eos;
    if (!c.eos_token.empty()) {
      eos = tok->token_to_id(c.eos_token);
      if (!eos) throw ConfigError(Origin{}, "prepare.eos_token", "'" + c.eos_token + "' is not in the tokenizer's vocabulary");
    } else {
      for (const char* name : {"<|endoftext|>", "[SEP]", "</s>"})
        if ((eos = tok->token_to_id(name))) break;
    }

    // 3. Pass 2: batches of pieces, encoded in parallel, routed in corpus order. Many
    // documents: each goes whole to train or val (seeded). Few documents: every document
    // gives its last val_fraction of tokens to val, so both splits see every source.
    const bool by_document = scan->documents >= 100;
    SplitWriter splits[2] = {{tmp, "train", vocab, c.shard_tokens}, {tmp, "val", vocab, c.shard_tokens}};
    // Tokens of each weighted source: now, and at the current document's start.
    const size_t n_sources = std::max<size_t>(scan->mix.documents.size(), 1);
    std::vector<int64_t> source_tokens(n_sources, 0), source_start(n_sources, 0);
    int64_t from = 0;  // the document encoding starts at
    if (resume) {
      const auto& j = *resume;
      from = j.at("doc");
      for (int s = 0; s < 2; ++s) splits[s].resume(j.at(s == 0 ? "train" : "val"), j.at("pos")[s]);
      source_tokens = j.at("source_tokens").get<std::vector<int64_t>>();
      log::info("prepare: continuing from document " + std::to_string(from) + " with " +
                std::to_string(j["train"]["shards"].size()) + " + " + std::to_string(j["val"]["shards"].size()) +
                " finished shards");
    }
    int64_t doc = -1, doc_start[2] = {0, 0};
    // After each finished shard: both splits' shards, open ones flushed, and where the current
    // document started, from which a resumed run encodes again.
    auto checkpoint = [&] {
      nlohmann::json j;
      j["fingerprint"] = print;
      j["doc"] = doc;
      j["pos"] = {doc_start[0], doc_start[1]};
      j["source_tokens"] = source_start;
      j["train"] = splits[0].state();
      j["val"] = splits[1].state();
      fs_util::write_file_atomic(tmp + "/resume.json", j.dump() + "\n");
    };

    const size_t budget = static_cast<size_t>(c.memory_mb) << 20;
    const size_t batch_bytes = std::max<size_t>(budget / 16, size_t{1} << 20);  // text, ids (4x) and the next batch
    PieceReader reader(c, *scan, from);
    DocumentBuffer doc_ids(budget / 4);
    int split = 0;
    Progress progress("encoded", scan->text_bytes);
    auto route = [&](int s, const int32_t* p, size_t n) {
      if (n > 0 && splits[s].append(p, n)) checkpoint();
    };
    const auto t_enc = Clock::now();
    auto next = std::async(std::launch::async, [&] { return reader.batch(batch_bytes); });
    for (;;) {
      auto pieces = next.get();
      if (pieces.empty()) break;
      next = std::async(std::launch::async, [&] { return reader.batch(batch_bytes); });
      auto encoded = encode_all(*tok, pieces, threads);
      for (size_t i = 0; i < pieces.size(); ++i) {
        const auto& piece = pieces[i];
        auto& ids = encoded[i];
        if (piece.first) {
          doc = piece.doc;
          doc_start[0] = splits[0].pos();
          doc_start[1] = splits[1].pos();
          source_start = source_tokens;
          const double u =
              (splitmix64(static_cast<uint64_t>(c.seed) * 1000003u + static_cast<uint64_t>(doc)) >> 11) *
              (1.0 / 9007199254740992.0);
          split = u < c.val_fraction ? 1 : 0;
        }
        if (piece.last && eos) ids.push_back(*eos);
        source_tokens[static_cast<size_t>(piece.source)] += static_cast<int64_t>(ids.size());
        if (by_document) {
          route(split, ids.data(), ids.size());
        } else {
          doc_ids.add(ids);
          if (piece.last) {
            const size_t n = doc_ids.size();
            const size_t n_val = static_cast<size_t>(c.val_fraction * static_cast<double>(n));
            size_t at = 0;
            doc_ids.drain([&](const int32_t* p, size_t k) {
              const size_t to_train = at < n - n_val ? std::min(k, n - n_val - at) : 0;
              route(0, p, to_train);
              route(1, p + to_train, k - to_train);
              at += k;
            });
          }
        }
        ids = {};
      }
      progress.update(reader.bytes());
    }
    const double enc_s = std::chrono::duration<double>(Clock::now() - t_enc).count();
    log::info("prepare: encoded " + mb(static_cast<double>(reader.bytes())) + " MB with " + std::to_string(threads) +
              " threads in " + std::to_string(enc_s).substr(0, 5) + " s");
    if (c.val_fraction > 0 && splits[1].pos() == 0)
      throw IoError("the corpus is too small for val_fraction " + std::to_string(c.val_fraction) + ": no validation tokens");
    splits[0].finish();
    splits[1].finish();

    // 4. The manifest last, then the folder moves into place.
    nlohmann::json source_files = nlohmann::json::array();
    int64_t documents_read = 0, kept = 0;
    for (const auto& f : scan->files) {
      source_files.push_back({{"path", f.path}, {"bytes", f.bytes}, {"sha256", f.sha256}, {"documents", f.documents}});
      documents_read += f.documents;
      kept += f.kept;
    }
    r.documents_read = documents_read;
    r.dropped_length = scan->dropped_length;
    r.dropped_exact = scan->dropped_exact;
    r.dropped_near = scan->dropped_near;
    r.unused_by_mixture = kept - scan->documents;
    r.invalid_utf8_documents = scan->invalid_utf8_documents;
    r.invalid_utf8_sequences = scan->invalid_utf8_sequences;
    r.dropped_invalid_utf8 = scan->dropped_invalid_utf8;
    nlohmann::json manifest;
    manifest["ptm_version"] = version();
    manifest["git_revision"] = git_revision();
    manifest["sources"] = source_files;
    manifest["format"] = c.format;
    manifest["documents_read"] = documents_read;
    manifest["documents"] = scan->documents;
    manifest["documents_dropped"] = {{"length", scan->dropped_length},
                                     {"exact_duplicate", scan->dropped_exact},
                                     {"near_duplicate", scan->dropped_near},
                                     {"unused_by_mixture", r.unused_by_mixture},
                                     {"invalid_utf8", r.dropped_invalid_utf8}};
    manifest["invalid_utf8"] = {{"policy", c.invalid_utf8},
                                {"documents", r.invalid_utf8_documents},
                                {"sequences", r.invalid_utf8_sequences}};
    if (!c.weights.empty()) {
      const int64_t all_tokens = splits[0].pos() + splits[1].pos();
      double weight_sum = 0;
      for (const double w : c.weights) weight_sum += w;
      nlohmann::json mix = nlohmann::json::array();
      for (size_t k = 0; k < c.weights.size(); ++k) {
        PrepareResult::Source m;
        m.source = c.sources[k];
        m.weight = c.weights[k] / weight_sum;
        m.documents = scan->mix.documents[k];
        m.tokens = source_tokens[k];
        m.byte_share = static_cast<double>(scan->mix.bytes[k]) / static_cast<double>(std::max<int64_t>(scan->text_bytes, 1));
        m.token_share = static_cast<double>(m.tokens) / static_cast<double>(std::max<int64_t>(all_tokens, 1));
        mix.push_back({{"source", m.source}, {"weight", m.weight}, {"documents", m.documents},
                       {"text_bytes", scan->mix.bytes[k]}, {"tokens", m.tokens}, {"byte_share", m.byte_share},
                       {"token_share", m.token_share}});
        r.mixture.push_back(m);
      }
      manifest["mixture"] = {{"seed", c.seed}, {"sources", mix}};
    }
    if (c.dedup.any())
      manifest["dedup"] = {{"exact", c.dedup.exact}, {"near", c.dedup.near}, {"shingle", c.dedup.shingle},
                           {"threshold", c.dedup.threshold}, {"bands", c.dedup.bands}, {"rows", c.dedup.rows},
                           {"seed", c.dedup.seed}};
    manifest["split"] = {{"val_fraction", c.val_fraction}, {"by", by_document ? "document" : "tail of each document"},
                         {"seed", c.seed}};
    manifest["tokenizer"] = {{"file", "tokenizer.json"}, {"kind", tok->kind()}, {"vocab_size", vocab},
                             {"sha256", sha256_file(tmp + "/tokenizer.json")},
                             {"eos_id", eos ? nlohmann::json(*eos) : nlohmann::json()}};
    manifest["token_bytes"] = token_bytes_for_vocab(vocab);
    manifest["train"] = {{"tokens", splits[0].pos()}, {"shards", splits[0].shards()}};
    manifest["val"] = {{"tokens", splits[1].pos()}, {"shards", splits[1].shards()}};
    fs::remove(tmp + "/scan.json");
    fs::remove(tmp + "/resume.json");
    fs_util::write_file_atomic(tmp + "/manifest.json", manifest.dump(2) + "\n");
    if (fs::exists(c.out)) fs::remove_all(c.out);  // --overwrite, and the new one is complete
    if (!fs::path(c.out).parent_path().empty()) fs::create_directories(fs::path(c.out).parent_path());
    fs::rename(tmp, c.out);
    r.documents = scan->documents;
    r.train_tokens = splits[0].pos();
    r.val_tokens = splits[1].pos();
    r.vocab_size = vocab;
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  r.out = c.out;
  r.manifest_sha256 = sha256_file(c.out + "/manifest.json");
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

}  // namespace ptm::data
