// A c10d process group for data-parallel training: a TCPStore (rank 0 serves it, or
// torchrun's agent does), Gloo for CPU tensors and NCCL for CUDA tensors, with one timeout
// for connecting, the store and every collective. Small host values (recipes, data cursors,
// RNG states) travel through the store. Every rank must call the collectives and exchanges in
// the same order. Every rank beats a heartbeat through the store (heartbeat.h), so a lost
// rank is named, and a silent one ends the run instead of a long collective timeout.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/util/intrusive_ptr.h>

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "ptm/dist/rank_layout.h"

namespace c10d {
class ProcessGroup;
class Store;
}  // namespace c10d

namespace ptm::dist {

class Heartbeat;

enum class Reduce { Sum, Max, Min };

class Group {
 public:
  // Connects to the master and builds the backend for `device` (CPU: Gloo, CUDA: NCCL bound to
  // the device). Throws RuntimeError naming the master and the timeout when it cannot connect.
  Group(const RankLayout& layout, const std::string& device, std::chrono::seconds timeout);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const { return layout_.rank; }
  int world() const { return layout_.world; }
  bool main() const { return layout_.rank == 0; }
  const RankLayout& layout() const { return layout_; }
  std::chrono::seconds timeout() const { return timeout_; }
  std::string backend() const;  // "gloo" or "nccl"

  // In place, on every rank; waits for the result (on CUDA: the current stream waits).
  void all_reduce(at::Tensor& t, Reduce op = Reduce::Sum);
  // Rank `root`'s values into every rank's tensors (same shapes everywhere).
  void broadcast(std::vector<at::Tensor>& tensors, int root = 0);
  // Each rank's rows of `t` ([n_r, ...], n_r may differ by rank), concatenated in rank order.
  std::vector<at::Tensor> all_gather_rows(const at::Tensor& t);
  void barrier();

  // Every rank's `value` (index = rank), through the store.
  std::vector<std::string> exchange(const std::string& name, const std::string& value);
  // Rank 0's `value` on every rank (other ranks' argument is ignored).
  std::string share(const std::string& name, const std::string& value);

  c10::intrusive_ptr<c10d::ProcessGroup> process_group() const;

  // After a collective failed: the lost rank(s), named from the heartbeats ("rank 1 of 2 was
  // lost: ..."), or "" when every other rank still beats. Takes a few seconds.
  std::string lost_ranks();
  // The message for a run that stops on `error` (a failed collective): "rank 0 of 2 stopped:
  // rank 1 of 2 was lost: ... (Gloo's words)".
  std::string stopped_by(const std::exception& error);

 private:
  std::string next_key(const std::string& name);

  RankLayout layout_;
  std::chrono::seconds timeout_;
  bool cuda_ = false;
  int64_t exchanges_ = 0;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<Heartbeat> heartbeat_;  // declared after impl_: stops before the store goes
};

// The layout this process runs under, connected when distributed (null for one process).
// Sets CUDA devices per local rank: "cuda" and "auto" become cuda:LOCAL_RANK.
std::string device_for_rank(const std::string& device, const RankLayout& layout);

}  // namespace ptm::dist
