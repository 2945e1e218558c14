// One autocast state for a scope on one device type: enabled or not, and its dtype; the
// previous state comes back on exit, as Python's torch.autocast context manager does. The one
// mechanism behind train::AutocastGuard (a recipe's precision), the fused loss (autocast off)
// and activation checkpointing (the forward pass's state, replayed).
#pragma once
#include <ATen/autocast_mode.h>

namespace ptm {

class AutocastScope {
 public:
  AutocastScope(at::DeviceType type, bool enabled, at::ScalarType dtype)
      : type_(type),
        enabled_(enabled),
        prev_enabled_(at::autocast::is_autocast_enabled(type)),
        prev_dtype_(at::autocast::get_autocast_dtype(type)) {
    at::autocast::set_autocast_dtype(type_, dtype);
    at::autocast::set_autocast_enabled(type_, enabled);
    if (enabled_) at::autocast::increment_nesting();
  }
  // Autocast off for the scope (its dtype unchanged).
  static AutocastScope off(at::DeviceType type) { return {type, false, at::autocast::get_autocast_dtype(type)}; }
  ~AutocastScope() {
    if (enabled_ && at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(type_, prev_enabled_);
    at::autocast::set_autocast_dtype(type_, prev_dtype_);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  at::DeviceType type_;
  bool enabled_, prev_enabled_;
  at::ScalarType prev_dtype_;
};

}  // namespace ptm
