// Bounded producer/consumer queue between the stream and the training loop.
#include "ptm/data/loader.h"

namespace ptm::data {

Loader::Loader(std::unique_ptr<BatchStream> stream, torch::Device device, int prefetch)
    : stream_(std::move(stream)), device_(device), prefetch_(std::max(1, prefetch)), pin_(device.is_cuda()),
      state_(stream_->state()) {
  worker_ = std::thread([this] { work(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void Loader::work() {
  for (;;) {
    Item item;
    try {
      item.batch = stream_->next();
      if (item.batch && pin_) item.batch = item.batch->pin_memory();
      item.state = stream_->state();
    } catch (...) {
      item.error = std::current_exception();
    }
    const bool last = !item.batch || item.error;
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return stop_ || queue_.size() < prefetch_; });
    if (stop_) return;
    queue_.push_back(std::move(item));
    cv_.notify_all();
    if (last) return;  // end of an evaluation pass, or an error to report
  }
}

std::optional<Batch> Loader::next() {
  Item item;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (done_) return std::nullopt;
    cv_.wait(lock, [&] { return !queue_.empty(); });
    item = std::move(queue_.front());
    queue_.pop_front();
    if (!item.batch || item.error) done_ = true;
    if (!item.error && item.batch) state_ = item.state;
  }
  cv_.notify_all();
  if (item.error) std::rethrow_exception(item.error);
  if (!item.batch) return std::nullopt;
  return item.batch->to(device_, /*non_blocking=*/true);
}

nlohmann::json Loader::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

}  // namespace ptm::data
