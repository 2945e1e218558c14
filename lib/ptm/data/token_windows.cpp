// Data set "tokens": fixed-length windows from the shards of a prepared corpus (ptm data
// prepare). Training draws window starts from a seeded counter (state = batches drawn), ranks
// taking interleaved rows of the global draw;
// evaluation walks non-overlapping windows from the start, ranks taking every world-th one.
#include <filesystem>

#include "ptm/core/errors.h"
#include "ptm/data/dataset.h"
#include "ptm/data/token_split.h"
#include "ptm/data/token_windows.h"

namespace ptm::data {
namespace {

class TokenWindows : public BatchStream {
 public:
  TokenWindows(const TokenWindowsOptions& o, const StreamOptions& s)
      : o_(o), s_(s), split_(o.path, s.split), total_(split_.size()) {
    if (total_ < o.seq_len + 1)
      throw IoError("split '" + s.split + "' of '" + o.path + "' has " + std::to_string(total_) +
                    " tokens, fewer than seq_len+1 = " + std::to_string(o.seq_len + 1));
  }

  std::optional<Batch> next() override {
    const int64_t B = s_.batch_size, T = o_.seq_len;
    auto buf = torch::empty({B, T + 1}, torch::kInt64);
    int64_t* p = buf.data_ptr<int64_t>();
    int64_t rows = 0;
    for (; rows < B; ++rows) {
      int64_t start;
      if (s_.train) {
        // Row j of rank r's batch k is row (kB+j)W+r of the global draw: the ranks' batches
        // together are one process's batch of B*W windows, whatever W is.
        const uint64_t r = hash64(static_cast<uint64_t>(s_.seed), 0,
                                  static_cast<uint64_t>((cursor_ * B + rows) * s_.world + s_.rank));
        start = static_cast<int64_t>(r % static_cast<uint64_t>(total_ - T));
      } else {
        const int64_t window = (cursor_ * B + rows) * s_.world + s_.rank;
        start = window * T;
        if (start + T + 1 > total_) break;
      }
      split_.copy(start, T + 1, p + rows * (T + 1));
    }
    if (rows == 0) return std::nullopt;
    ++cursor_;
    buf = buf.narrow(0, 0, rows);
    Batch b;
    b.input_ids = buf.narrow(1, 0, T).contiguous();
    b.targets = buf.narrow(1, 1, T).contiguous();
    return b;
  }

  nlohmann::json state() const override { return {{"batches", cursor_}}; }
  void load_state(const nlohmann::json& s) override { cursor_ = s.at("batches").get<int64_t>(); }
  int64_t examples() const override { return total_ / o_.seq_len; }
  int64_t vocab_size() const override { return split_.vocab_size(); }
  int64_t sequence_length() const override { return o_.seq_len; }
  std::string describe() const override {
    return "tokens " + o_.path + " [" + s_.split + "]: " + std::to_string(total_) + " tokens in " +
           std::to_string(split_.shards()) + " shard(s), vocab " + std::to_string(split_.vocab_size()) + ", windows of " +
           std::to_string(o_.seq_len);
  }

 private:
  TokenWindowsOptions o_;
  StreamOptions s_;
  TokenSplit split_;
  int64_t total_ = 0, cursor_ = 0;
};

}  // namespace

std::unique_ptr<BatchStream> make_token_windows(const TokenWindowsOptions& o, const StreamOptions& s) {
  return std::make_unique<TokenWindows>(o, s);
}

StreamBuilder token_windows_factory(config::Section& s) {
  TokenWindowsOptions o;
  if (s.req("path", o.path, "a folder made by ptm data prepare").ok() &&
      !std::filesystem::exists(o.path + "/manifest.json"))
    s.problem("path", "'" + o.path + "' holds no manifest.json (make it with ptm data prepare)");
  s.opt("seq_len", o.seq_len, "tokens per window").min(1).max(1 << 20);
  s.finish();
  return [o](const StreamOptions& so) -> std::unique_ptr<BatchStream> {
    if (so.split == "test") return nullptr;  // prepared shards have train and val only
    return make_token_windows(o, so);
  };
}

}  // namespace ptm::data
