// c10d from C++: stores, Gloo/NCCL backends, collectives with ptm's error messages.
#include "ptm/dist/process_group.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if PTM_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if PTM_HAVE_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <ATen/ATen.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "ptm/core/errors.h"
#include "ptm/dist/error_file.h"
#include "ptm/dist/heartbeat.h"

namespace ptm::dist {

struct Group::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  std::string backend;
};

namespace {

std::string clean(const std::string& what) {
  const auto cut = what.find("\nException raised from");
  return cut == std::string::npos ? what : what.substr(0, cut);
}

// The heartbeat's own store connection, a client even on rank 0 (the store's main connection
// belongs to the training thread).
c10::intrusive_ptr<c10d::Store> heartbeat_store(const RankLayout& layout) {
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(layout.master_port);
  so.isServer = false;
  so.waitWorkers = false;
  so.timeout = std::chrono::seconds(5);  // also how long stopping can wait for a store that went silent
  auto tcp = c10::make_intrusive<c10d::TCPStore>(layout.master_addr, so);
  return c10::make_intrusive<c10d::PrefixStore>("ptm/" + std::to_string(layout.restart_count), tcp);
}

HeartbeatOptions heartbeat_options(const RankLayout& layout, std::chrono::seconds timeout) {
  HeartbeatOptions o;
  o.period = std::chrono::seconds(2);
  // Half the collective timeout, at most 30 s: a silent rank ends the run long before a
  // collective waiting for it would (600 s by default), and the survivors stop within 60 s.
  o.silence = std::max<std::chrono::milliseconds>(
      3 * o.period, std::min<std::chrono::milliseconds>(timeout / 2, std::chrono::seconds(30)));
  o.store_name = "the store at " + layout.master_addr + ":" + std::to_string(layout.master_port);
  o.store_on_rank0 = !layout.agent_store;
  const std::string who = "rank " + std::to_string(layout.rank) + " of " + std::to_string(layout.world);
  // The main thread is stuck in a collective that cannot be interrupted (Gloo has no abort):
  // report as main() would and end the process.
  o.on_lost = [who](const std::string& lost) {
    const std::string message = who + " stopped: " + lost;
    std::cerr << "ptm: error: " << message << std::endl;
    write_torchelastic_error(message);
    std::_Exit(1);
  };
  return o;
}

c10d::ReduceOp op_of(Reduce op) {
  switch (op) {
    case Reduce::Max: return c10d::ReduceOp::MAX;
    case Reduce::Min: return c10d::ReduceOp::MIN;
    default: return c10d::ReduceOp::SUM;
  }
}

}  // namespace

std::string device_for_rank(const std::string& device, const RankLayout& layout) {
  if (device.rfind("cuda", 0) != 0 || !layout.distributed()) return device;
  return "cuda:" + std::to_string(layout.local_rank);
}

Group::Group(const RankLayout& layout, const std::string& device, std::chrono::seconds timeout)
    : layout_(layout), timeout_(timeout), cuda_(device.rfind("cuda", 0) == 0), impl_(std::make_unique<Impl>()) {
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(layout.master_port);
  so.isServer = layout.rank == 0 && !layout.agent_store;
  so.numWorkers = layout.world;
  so.waitWorkers = false;
  so.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  // A write to a lost peer's socket (the store, Gloo) must fail with EPIPE and reach the code
  // that names the lost rank, not kill this rank with SIGPIPE (Python, torchrun's usual host,
  // ignores SIGPIPE for the same reason).
  std::signal(SIGPIPE, SIG_IGN);
  try {
    auto tcp = c10::make_intrusive<c10d::TCPStore>(layout.master_addr, so);
    // A restarted torchrun attempt must not read the keys of the attempt before it.
    impl_->store = c10::make_intrusive<c10d::PrefixStore>("ptm/" + std::to_string(layout.restart_count), tcp);
  } catch (const std::exception& e) {
    throw RuntimeError("rank " + std::to_string(layout.rank) + " could not " +
                       (so.isServer ? "serve" : "reach") + " the rendezvous store at " + layout.master_addr + ":" +
                       std::to_string(layout.master_port) + " within " + std::to_string(timeout.count()) +
                       " s (MASTER_ADDR/MASTER_PORT, run.dist_timeout_s): " + clean(e.what()));
  }
  impl_->pg = c10::make_intrusive<c10d::ProcessGroup>(impl_->store, layout.rank, layout.world);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  try {
    if (cuda_) {
#if PTM_HAVE_NCCL
      // The rank's GPU becomes the current device, so that NCCL and the CUDA context of this
      // process live there and not on GPU 0 (torch.cuda.set_device(local_rank)).
      c10::cuda::set_device(c10::Device(device).index());
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = ms;
      auto nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, layout.rank, layout.world, opts);
      nccl->setBoundDeviceId(c10::Device(device));  // eager init: failures show here, not in step 1
      impl_->pg->setBackend(c10::DeviceType::CUDA, c10d::ProcessGroup::BackendType::NCCL, nccl);
      impl_->pg->setDefaultBackend(c10d::ProcessGroup::BackendType::NCCL);
      impl_->backend = "nccl";
#else
      throw ConfigError(Origin{}, "run.device", "this ptm was built without NCCL: data-parallel runs on CUDA need it");
#endif
    } else {
#if PTM_HAVE_GLOO
      auto opts = c10d::ProcessGroupGloo::Options::create(ms);
      // Same node: loopback. Across nodes: GLOO_SOCKET_IFNAME, else the address the hostname resolves to.
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"))
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (layout.local_world == layout.world)
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      opts->threads = 2;
      auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, layout.rank, layout.world, opts);
      impl_->pg->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, gloo);
      impl_->pg->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
      impl_->backend = "gloo";
#else
      throw ConfigError(Origin{}, "run.device",
                        "this ptm was built without Gloo (Debian's libgloo-dev): data-parallel runs on the CPU need it");
#endif
    }
    heartbeat_ = std::make_unique<Heartbeat>(heartbeat_store(layout), layout.rank, layout.world,
                                             heartbeat_options(layout, timeout));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw RuntimeError("rank " + std::to_string(layout.rank) + ": could not set up the " +
                       (cuda_ ? "NCCL" : "Gloo") + " process group with " + std::to_string(layout.world) +
                       " ranks within " + std::to_string(timeout.count()) + " s: " + clean(e.what()));
  }
}

Group::~Group() = default;

std::string Group::backend() const { return impl_->backend; }

c10::intrusive_ptr<c10d::ProcessGroup> Group::process_group() const { return impl_->pg; }

std::string Group::lost_ranks() { return heartbeat_ ? heartbeat_->diagnose() : ""; }

std::string Group::stopped_by(const std::exception& error) {
  const std::string who = "rank " + std::to_string(rank()) + " of " + std::to_string(world()) + " stopped: ";
  const std::string what = clean(error.what());
  const std::string lost = lost_ranks();
  if (lost.empty()) return who + what + " (every other rank still beats its heartbeat)";
  return who + lost + " (" + what + ")";
}

void Group::all_reduce(at::Tensor& t, Reduce op) {
  std::vector<at::Tensor> ts{t};
  c10d::AllreduceOptions o;
  o.reduceOp = op_of(op);
  impl_->pg->allreduce(ts, o)->wait();
}

void Group::broadcast(std::vector<at::Tensor>& tensors, int root) {
  c10d::BroadcastOptions o;
  o.rootRank = root;
  for (auto& t : tensors) {
    std::vector<at::Tensor> ts{t};
    impl_->pg->broadcast(ts, o)->wait();
  }
}

std::vector<at::Tensor> Group::all_gather_rows(const at::Tensor& t) {
  // Collectives need equal shapes: pad every rank's rows to the longest, then cut.
  auto rows = at::full({1}, t.size(0), t.options().dtype(at::kLong));
  auto all_rows = at::zeros({world()}, rows.options());
  all_rows[rank()] = rows[0];
  all_reduce(all_rows);
  const auto counts = all_rows.cpu();
  const int64_t longest = counts.max().item<int64_t>();
  auto shape = t.sizes().vec();
  shape[0] = longest;
  auto padded = at::zeros(shape, t.options());
  padded.narrow(0, 0, t.size(0)).copy_(t);
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < world(); ++r) out[0].push_back(at::empty_like(padded));
  std::vector<at::Tensor> in{padded};
  impl_->pg->allgather(out, in)->wait();
  std::vector<at::Tensor> parts;
  for (int r = 0; r < world(); ++r) parts.push_back(out[0][r].narrow(0, 0, counts[r].item<int64_t>()));
  return parts;
}

void Group::barrier() {
  // A one-element all-reduce: a barrier that fails like any collective when a rank is gone.
  auto t = at::zeros({1}, at::TensorOptions().device(cuda_ ? at::Device(at::kCUDA, layout_.local_rank) : at::kCPU));
  all_reduce(t);
  if (cuda_) t.cpu();
}

std::string Group::next_key(const std::string& name) { return "x" + std::to_string(exchanges_++) + "/" + name; }

// Both start with a barrier: a collective fails at once when a rank is gone, while a store read
// would wait for the whole timeout.
std::vector<std::string> Group::exchange(const std::string& name, const std::string& value) {
  barrier();
  const auto key = next_key(name);
  impl_->store->set(key + "/" + std::to_string(rank()), std::vector<uint8_t>(value.begin(), value.end()));
  std::vector<std::string> all;
  for (int r = 0; r < world(); ++r) {
    const auto bytes = impl_->store->get(key + "/" + std::to_string(r));
    all.emplace_back(bytes.begin(), bytes.end());
  }
  return all;
}

std::string Group::share(const std::string& name, const std::string& value) {
  barrier();
  const auto key = next_key(name);
  if (main()) impl_->store->set(key, std::vector<uint8_t>(value.begin(), value.end()));
  const auto bytes = impl_->store->get(key);
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace ptm::dist
