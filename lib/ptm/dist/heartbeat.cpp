// Heartbeat counters in the c10d store: key "hb/<rank>", +1 per period, +kStopped at the end.
#include "ptm/dist/heartbeat.h"

#include <torch/csrc/distributed/c10d/Store.hpp>

#include <vector>

namespace ptm::dist {
namespace {

// Added to a counter when its rank stops on its own: larger than any count of beats.
constexpr int64_t kStopped = int64_t{1} << 40;

std::string key(int rank) { return "hb/" + std::to_string(rank); }

// The first watchdog report, which every rank's watchdog passes on: all ranks stop with the
// same name, also those whose collectives only fail because the reporting rank exited.
const std::string kLostKey = "hb/lost";

std::string of(int rank, int world) { return std::to_string(rank) + " of " + std::to_string(world); }

// "30 s", "0.4 s".
std::string seconds(std::chrono::milliseconds ms) {
  const auto tenths = (ms.count() + 50) / 100;
  return std::to_string(tenths / 10) + (tenths % 10 ? "." + std::to_string(tenths % 10) : "") + " s";
}

std::string list(const std::vector<int>& ranks) {
  std::string s;
  for (size_t i = 0; i < ranks.size(); ++i) s += (i ? ", " : "") + std::to_string(ranks[i]);
  return s;
}

}  // namespace

Heartbeat::Heartbeat(c10::intrusive_ptr<c10d::Store> store, int rank, int world, HeartbeatOptions options)
    : store_(std::move(store)), rank_(rank), world_(world), o_(std::move(options)) {
  store_->add(key(rank_), 1);
  thread_ = std::thread([this] { run(); });
}

Heartbeat::~Heartbeat() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Heartbeat::run() {
  using clock = std::chrono::steady_clock;
  const int next = (rank_ + 1) % world_;
  int64_t seen = -1;
  auto changed = clock::now(), reached = clock::now();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (wake_.wait_for(lock, o_.period, [this] { return stop_; })) break;
    }
    try {
      store_->add(key(rank_), 1);
      if (next == rank_) continue;
      if (store_->check({kLostKey})) {
        const auto m = store_->get(kLostKey);
        report(std::string(m.begin(), m.end()));
        break;
      }
      const int64_t v = store_->add(key(next), 0);
      reached = clock::now();
      if (v != seen) {
        seen = v;
        changed = reached;
      } else if (v < kStopped && reached - changed >= o_.silence) {
        const auto still = std::chrono::duration_cast<std::chrono::milliseconds>(reached - changed);
        const auto m = "rank " + of(next, world_) + " was lost: its heartbeat stood still for " + seconds(still);
        store_->set(kLostKey, std::vector<uint8_t>(m.begin(), m.end()));
        report(m);
        break;
      }
    } catch (const std::exception&) {
      if (clock::now() - reached >= o_.silence) {
        report(store_lost());
        break;
      }
    }
  }
  try {
    store_->add(key(rank_), kStopped);
  } catch (const std::exception&) {
    // The store is gone (its rank stopped first): nobody is left to read the mark.
  }
}

void Heartbeat::report(const std::string& message) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    lost_ = message;
    if (wake_.wait_for(lock, o_.grace, [this] { return stop_; })) return;
  }
  try {
    store_->add(key(rank_), kStopped);  // this rank ends by itself: not one more lost rank
  } catch (const std::exception&) {
  }
  if (o_.on_lost) o_.on_lost(message);
}

std::string Heartbeat::store_lost() const {
  if (o_.store_on_rank0 && rank_ != 0)
    return "rank " + of(0, world_) + " was lost or stopped: " + o_.store_name + ", which it served, no longer answers";
  return o_.store_name + " no longer answers";
}

std::string Heartbeat::diagnose() {
  const auto known = [this] {
    std::lock_guard<std::mutex> lock(mu_);
    return lost_;
  };
  if (const auto m = known(); !m.empty()) return m;
  const auto read = [this] {
    std::vector<int64_t> v(static_cast<size_t>(world_));
    for (int r = 0; r < world_; ++r) v[static_cast<size_t>(r)] = store_->add(key(r), 0);
    return v;
  };
  std::vector<int64_t> before, after;
  try {
    if (store_->check({kLostKey})) {  // another rank's watchdog named it
      const auto m = store_->get(kLostKey);
      return std::string(m.begin(), m.end());
    }
    before = read();
    std::this_thread::sleep_for(2 * o_.period + o_.period / 4);
    if (const auto m = known(); !m.empty()) return m;
    after = read();
  } catch (const std::exception&) {
    return store_lost();
  }
  std::vector<int> lost, stopped;
  for (int r = 0; r < world_; ++r) {
    if (r == rank_) continue;
    const auto i = static_cast<size_t>(r);
    if (after[i] >= kStopped)
      stopped.push_back(r);
    else if (after[i] == before[i])
      lost.push_back(r);
  }
  const auto still = seconds(2 * o_.period);
  const std::string world = " of " + std::to_string(world_);
  if (lost.size() == 1) return "rank " + list(lost) + world + " was lost: its heartbeat stood still for " + still;
  if (lost.size() > 1)
    return "ranks " + list(lost) + world + " were lost: their heartbeats stood still for " + still;
  if (stopped.size() == 1) return "rank " + list(stopped) + world + " stopped (its own log says why)";
  if (stopped.size() > 1) return "ranks " + list(stopped) + world + " stopped (their own logs say why)";
  return "";
}

}  // namespace ptm::dist
