// ZeRO-1 bookkeeping: owners, the broadcast after the step, the state gathered for checkpoints.
#include "ptm/dist/zero.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <numeric>

#include <nlohmann/json.hpp>

namespace ptm::dist {

std::vector<int> assign_owners(const std::vector<at::Tensor>& params, int world) {
  std::vector<size_t> order(params.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return params[a].numel() > params[b].numel(); });
  std::vector<int64_t> load(static_cast<size_t>(world), 0);
  std::vector<int> owner(params.size(), 0);
  for (const size_t i : order) {
    const int r = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    owner[i] = r;
    load[static_cast<size_t>(r)] += params[i].numel();
  }
  return owner;
}

void broadcast_from_owners(Group& group, const ZeroShards& shards) {
  c10::NoGradGuard no_grad;
  for (int r = 0; r < group.world(); ++r) {
    std::vector<at::Tensor> mine;
    for (size_t i = 0; i < shards.params.size(); ++i)
      if (shards.owner[i] == r) mine.push_back(shards.params[i].detach());
    group.broadcast(mine, r);
  }
}

models::NamedTensors gather_optimizer_state(Group& group, const models::NamedTensors& local, const at::Device& device) {
  // Names, shapes and types through the store; then each rank's tensors from it.
  nlohmann::json index = nlohmann::json::array();
  for (const auto& [name, t] : local)
    index.push_back({{"name", name}, {"shape", t.sizes().vec()}, {"dtype", static_cast<int>(t.scalar_type())}});
  const auto all = group.exchange("zero_state", index.dump());
  models::NamedTensors out;
  for (int r = 0; r < group.world(); ++r) {
    std::vector<at::Tensor> tensors;
    std::vector<std::string> names;
    if (r == group.rank()) {
      for (const auto& [name, t] : local) {
        names.push_back(name);
        tensors.push_back(t.detach().contiguous());
      }
    } else {
      for (const auto& e : nlohmann::json::parse(all[static_cast<size_t>(r)])) {
        names.push_back(e["name"].get<std::string>());
        tensors.push_back(at::empty(e["shape"].get<std::vector<int64_t>>(),
                                    at::TensorOptions().dtype(static_cast<at::ScalarType>(e["dtype"].get<int>())).device(device)));
      }
    }
    group.broadcast(tensors, r);
    if (group.main())
      for (size_t i = 0; i < names.size(); ++i) out.emplace_back(names[i], tensors[i]);
  }
  return out;
}

}  // namespace ptm::dist
