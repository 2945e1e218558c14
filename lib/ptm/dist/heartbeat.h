// Which rank was lost: every rank keeps a heartbeat counter in the c10d store, so that the
// survivors of a lost rank can name it (Gloo only says "Connection reset by peer").
//
// A background thread adds 1 to this rank's counter every `period` on a store connection of
// its own, so the training step pays nothing. It also watches the next rank's counter (a ring:
// two store requests per rank and period at any world size). When that counter stands still
// for `silence`, or the store cannot be reached that long, the rank is reported lost (in the
// store too, where every rank's watchdog picks the report up within a period) through
// `on_lost`: a frozen process or a vanished node sends no TCP reset, and a Gloo collective
// waiting for it would block for the whole collective timeout (as torchelastic's agent and
// NCCL's watchdog with TORCH_NCCL_ASYNC_ERROR_HANDLING do, the process is then torn down).
// A rank that stops on its own marks its counter as stopped: it is never reported lost.
#pragma once
#include <c10/util/intrusive_ptr.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace c10d {
class Store;
}

namespace ptm::dist {

struct HeartbeatOptions {
  std::chrono::milliseconds period{2000};
  std::chrono::milliseconds silence{30000};  // a still counter this long: the rank is lost
  // After a loss, time for the main thread to stop on its own (its collective failed) before
  // `on_lost` runs.
  std::chrono::milliseconds grace{5000};
  // Called at most once, on the heartbeat thread, with the message naming the lost rank (or
  // the store), when the main thread has not stopped within `grace`.
  std::function<void(const std::string&)> on_lost;
  // Who serves the store, for messages: "the store at HOST:PORT (served by rank 0)".
  std::string store_name = "the store";
  bool store_on_rank0 = true;  // rank 0 serves the store (not torchrun's agent): its loss takes the store along
};

class Heartbeat {
 public:
  // `store`: a connection of this heartbeat's own (another thread uses it).
  Heartbeat(c10::intrusive_ptr<c10d::Store> store, int rank, int world, HeartbeatOptions options);
  // Marks this rank as stopped and joins the thread (at most one store timeout).
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // After a collective failed: which ranks were lost, as one sentence ("rank 1 of 2 was lost:
  // its heartbeat stopped"), or "" when every other rank still beats. Reads every counter,
  // waits two periods and reads them again (about 2.5 periods), unless the watchdog already
  // named a lost rank.
  std::string diagnose();

 private:
  void run();
  void report(const std::string& message);
  std::string store_lost() const;

  c10::intrusive_ptr<c10d::Store> store_;
  int rank_, world_;
  HeartbeatOptions o_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::string lost_;  // the watchdog's report, once made
  std::thread thread_;
};

}  // namespace ptm::dist
