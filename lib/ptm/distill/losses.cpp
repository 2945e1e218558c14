// Distillation loss functions (see losses.h). Everything is computed in float32.
#include "ptm/distill/losses.h"

#include <cmath>

#include "ptm/core/errors.h"

namespace ptm::distill {
namespace {

// sum_c p (log p - log q) over the last dimension, with 0 log 0 = 0.
torch::Tensor kl_rows(const torch::Tensor& log_p, const torch::Tensor& log_q) {
  const auto p = log_p.exp();
  return torch::where(p > 0, p * (log_p - log_q), torch::zeros_like(p)).sum(-1);
}

// Per-row values [B, T] -> the mean over kept tokens of each example [B]; [N] stays.
torch::Tensor per_example(const torch::Tensor& rows, const torch::Tensor& keep) {
  if (rows.dim() == 1) return rows;
  if (!keep.defined()) return rows.mean(-1);
  const auto k = keep.to(torch::kFloat32);
  return (rows * k).sum(-1) / k.sum(-1).clamp_min(1.0);
}

void check_pair(const torch::Tensor& s, const torch::Tensor& t, const char* what) {
  if (s.sizes() != t.sizes())
    throw RuntimeError(std::string("distill: ") + what + " of student " + std::to_string(s.size(-1)) +
                       " and teacher " + std::to_string(t.size(-1)) +
                       " outputs differ in shape; teacher and student need the same head (num_labels) and inputs");
}

}  // namespace

torch::Tensor kd_kl(const torch::Tensor& student, const torch::Tensor& teacher, double tau, const torch::Tensor& keep) {
  check_pair(student, teacher, "logits");
  const auto ls = torch::log_softmax(student.to(torch::kFloat32) / tau, -1);
  const auto lt = torch::log_softmax(teacher.to(torch::kFloat32) / tau, -1);
  return per_example(kl_rows(lt, ls), keep) * (tau * tau);
}

torch::Tensor kd_js(const torch::Tensor& student, const torch::Tensor& teacher, double tau, const torch::Tensor& keep) {
  check_pair(student, teacher, "logits");
  const auto ls = torch::log_softmax(student.to(torch::kFloat32) / tau, -1);
  const auto lt = torch::log_softmax(teacher.to(torch::kFloat32) / tau, -1);
  const auto lm = ((ls.exp() + lt.exp()) / 2).clamp_min(1e-30).log();
  return per_example((kl_rows(lt, lm) + kl_rows(ls, lm)) / 2, keep) * (tau * tau);
}

torch::Tensor hidden_loss(const torch::Tensor& student, const torch::Tensor& teacher, const torch::Tensor& keep,
                          const std::string& kind) {
  if (student.sizes() != teacher.sizes())
    throw RuntimeError("distill: hidden states of shape " + std::to_string(student.size(-1)) + " (student, projected) vs " +
                       std::to_string(teacher.size(-1)) + " (teacher) differ");
  const auto s = student.to(torch::kFloat32), t = teacher.to(torch::kFloat32);
  torch::Tensor rows;  // [B, T]
  if (kind == "cosine")
    rows = 1 - torch::cosine_similarity(s, t, -1);
  else
    rows = (s - t).pow(2).mean(-1);
  return per_example(rows, keep);
}

torch::Tensor relation_log_probs(const torch::Tensor& a, const torch::Tensor& b, int64_t heads,
                                 const torch::Tensor& keep) {
  const int64_t B = a.size(0), T = a.size(1), W = a.size(2);
  if (heads < 1 || W % heads != 0)
    throw ConfigError(Origin{}, "objective.relation_heads",
                      std::to_string(heads) + " relation heads do not divide the hidden width " + std::to_string(W));
  const int64_t d = W / heads;
  const auto split = [&](const torch::Tensor& x) {
    return x.to(torch::kFloat32).view({B, T, heads, d}).transpose(1, 2);  // [B, heads, T, d]
  };
  auto scores = torch::matmul(split(a), split(b).transpose(-2, -1)) / std::sqrt(static_cast<double>(d));  // [B, h, T, T]
  if (keep.defined())
    scores = scores.masked_fill(keep.to(torch::kBool).view({B, 1, 1, T}).logical_not(), -1e30);
  return torch::log_softmax(scores, -1);
}

torch::Tensor relation_kl(const torch::Tensor& sa, const torch::Tensor& sb, const torch::Tensor& ta,
                          const torch::Tensor& tb, int64_t heads, const torch::Tensor& keep) {
  const auto ls = relation_log_probs(sa, sb, heads, keep), lt = relation_log_probs(ta, tb, heads, keep);
  const auto rows = kl_rows(lt, ls).mean(1);  // [B, T]: averaged over relation heads
  return per_example(rows, keep);
}

std::vector<int64_t> uniform_layer_map(int64_t student_layers, int64_t teacher_layers) {
  std::vector<int64_t> map;
  for (int64_t j = 1; j <= student_layers; ++j)
    map.push_back(static_cast<int64_t>(std::llround(static_cast<double>(j) * teacher_layers / student_layers)));
  return map;
}

}  // namespace ptm::distill
