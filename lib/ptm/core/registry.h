// Registry<Factory>: named factories with one-line help, one per area (schedules, models,
// objectives, ...). Each area fills its registry in an explicit register.cpp; nothing
// registers itself statically, because a static library drops unreferenced objects.
#pragma once
#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace ptm {

template <class Factory>
class Registry {
 public:
  struct Entry {
    std::string name;
    std::string help;
    Factory factory;
  };

  explicit Registry(std::string area) : area_(std::move(area)) {}

  // Adding the same name twice is a programming error, not a user error.
  void add(const std::string& name, const std::string& help, Factory factory) {
    if (entries_.count(name))
      throw std::logic_error("registry '" + area_ + "': '" + name + "' registered twice");
    entries_.emplace(name, Entry{name, help, std::move(factory)});
  }

  const Entry* find(const std::string& name) const {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second;
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& kv : entries_) out.push_back(kv.first);
    return out;  // sorted: std::map
  }

  std::vector<const Entry*> entries() const {
    std::vector<const Entry*> out;
    for (const auto& kv : entries_) out.push_back(&kv.second);
    return out;
  }

  const std::string& area() const { return area_; }
  size_t size() const { return entries_.size(); }

 private:
  std::string area_;
  std::map<std::string, Entry> entries_;
};

}  // namespace ptm
