// Loader: runs a BatchStream on a background thread, `prefetch` batches ahead, in pinned
// memory when the target is a GPU, and copies each batch to the device without blocking
// the host. Its state is the stream's cursor as of the last batch handed out, so a
// checkpoint never skips or repeats the batches that were prefetched but not used.
#pragma once
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "ptm/data/dataset.h"

namespace ptm::data {

class Loader {
 public:
  Loader(std::unique_ptr<BatchStream> stream, torch::Device device, int prefetch = 4);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch on the device; nullopt at the end of an evaluation pass. Rethrows errors
  // raised by the stream on the worker thread.
  std::optional<Batch> next();
  nlohmann::json state() const;
  const BatchStream& stream() const { return *stream_; }

 private:
  struct Item {
    std::optional<Batch> batch;
    nlohmann::json state;  // the stream's cursor right after producing this batch
    std::exception_ptr error;
  };
  void work();

  std::unique_ptr<BatchStream> stream_;
  torch::Device device_;
  size_t prefetch_;
  bool pin_;
  nlohmann::json state_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stop_ = false, done_ = false;
  std::thread worker_;
};

}  // namespace ptm::data
