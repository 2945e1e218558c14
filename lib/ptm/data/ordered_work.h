// Work split over threads whose outcome must not depend on how many there are: items are made
// one at a time in a fixed order (`produce`), handled on any thread (`work`), and their results
// applied one at a time strictly in the order the items were made (`apply`). Pass 1 of
// `ptm data prepare` runs on it (prepare_scan.cpp). Torch-free.
#pragma once
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace ptm::data {

// Runs produce -> work -> apply on `threads` threads (the calling one included; 1: all inline).
// At most `window` items are between production and application, which bounds memory. Every
// thread takes turns at each role: the one that takes the next item makes it (under a lock, so
// reading a file stays sequential), works it, and whoever finds the oldest results ready
// applies them. An exception from any stage ends the run and is rethrown here: the one of the
// earliest item, as a single thread would have met it (a failing produce counts as the item it
// was making; nothing after it is made).
//   bool produce(Item&)   the next item; false at the end
//   Out work(Item&)       may run on several threads at once
//   void apply(Out&)      in order
template <class Item, class Out, class Produce, class Work, class Apply>
void run_in_order(int threads, size_t window, Produce&& produce, Work&& work, Apply&& apply) {
  struct Slot {
    std::optional<Out> out;
    std::exception_ptr error;
    bool ready = false;
  };
  window = std::max<size_t>(window, 1);
  std::mutex produce_mutex, m;
  std::condition_variable cv;
  std::deque<Slot> slots;  // slots[i]: item `applied + i`
  uint64_t produced = 0, applied = 0;
  bool ended = false, consuming = false;
  std::exception_ptr failure;

  // Hands in the outcome of item `seq`, then applies whatever is ready in order unless
  // another thread is already doing so (it will find this one too).
  auto finish = [&](uint64_t seq, std::optional<Out>&& out, std::exception_ptr error) {
    std::unique_lock lk(m);
    auto& s = slots[static_cast<size_t>(seq - applied)];
    s.out = std::move(out);
    s.error = error;
    s.ready = true;
    if (consuming) return;
    consuming = true;
    while (!failure && !slots.empty() && slots.front().ready) {
      Slot next = std::move(slots.front());
      lk.unlock();
      std::exception_ptr e = next.error;
      if (!e) {
        try {
          apply(*next.out);
        } catch (...) {
          e = std::current_exception();
        }
      }
      next = Slot{};  // the result's memory goes before the next item may be made
      lk.lock();
      slots.pop_front();
      ++applied;
      if (e && !failure) failure = e;
      cv.notify_all();
    }
    consuming = false;
  };

  auto worker = [&] {
    for (;;) {
      uint64_t seq = 0;
      Item item{};
      bool got = false;
      std::exception_ptr error;
      {
        std::lock_guard plk(produce_mutex);
        {
          std::unique_lock lk(m);
          cv.wait(lk, [&] { return failure || ended || produced - applied < window; });
          if (failure || ended) return;
        }
        try {
          got = produce(item);
        } catch (...) {
          error = std::current_exception();
        }
        std::lock_guard lk(m);
        if (!got) ended = true;
        if (!got && !error) {
          cv.notify_all();
          return;
        }
        seq = produced++;
        slots.emplace_back();
      }
      if (error) {
        finish(seq, std::nullopt, error);
        return;
      }
      std::optional<Out> out;
      try {
        out.emplace(work(item));
      } catch (...) {
        error = std::current_exception();
      }
      item = Item{};
      finish(seq, std::move(out), error);
    }
  };

  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace ptm::data
