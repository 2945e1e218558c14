// Distillation losses as plain tensor functions (no modules, no recipe), each returning one
// value per example so the objective can sum them and report every part:
//   logit KD        tau^2 * KL(p_T^tau || p_S^tau), or the Jensen-Shannon divergence instead
//   hidden states   MSE or (1 - cosine) between a student layer and a teacher layer
//   MiniLM relations KL between teacher and student self-attention relations
//                   softmax(A_r B_r^T / sqrt(d_r)) computed over `relation_heads` heads, so the
//                   two models may have different widths and head counts; (query, key) gives
//                   the attention distribution, (value, value) the value relation.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace ptm::distill {

// Logits [N, C] (or [B, T, C] with keep [B, T]: the mean over kept tokens of each example).
// Returns [N] (or [B]): tau^2 * KL(softmax(t/tau) || softmax(s/tau)).
torch::Tensor kd_kl(const torch::Tensor& student, const torch::Tensor& teacher, double tau,
                    const torch::Tensor& keep = {});
// Same shapes: tau^2 * JS(p_T^tau, p_S^tau) = tau^2 * (KL(p_T||m) + KL(p_S||m)) / 2, m = (p_T + p_S) / 2.
torch::Tensor kd_js(const torch::Tensor& student, const torch::Tensor& teacher, double tau,
                    const torch::Tensor& keep = {});

// Student [B, T, H] (already projected to the teacher's width), teacher [B, T, H], keep [B, T]
// (undefined: all real). "mse": mean squared error over features; "cosine": 1 - cosine
// similarity. Averaged over the real tokens of each example: [B].
torch::Tensor hidden_loss(const torch::Tensor& student, const torch::Tensor& teacher, const torch::Tensor& keep,
                          const std::string& kind);

// The relation softmax(a_r b_r^T / sqrt(d_r)) over `heads` relation heads, padded keys masked:
// a, b [B, T, W] -> log-probabilities [B, heads, T, T].
torch::Tensor relation_log_probs(const torch::Tensor& a, const torch::Tensor& b, int64_t heads,
                                 const torch::Tensor& keep);
// KL(teacher relation || student relation) summed over keys, averaged over relation heads and
// real query tokens: [B]. Teacher (ta, tb) and student (sa, sb) widths may differ; both must be
// divisible by `heads`.
torch::Tensor relation_kl(const torch::Tensor& sa, const torch::Tensor& sb, const torch::Tensor& ta,
                          const torch::Tensor& tb, int64_t heads, const torch::Tensor& keep);

// The default teacher layer for each student layer 1..student_layers: round(j * T / S), so a
// 2-layer student of a 6-layer teacher matches teacher layers 3 and 6 (hidden-state indices;
// 0 is the embeddings output).
std::vector<int64_t> uniform_layer_map(int64_t student_layers, int64_t teacher_layers);

}  // namespace ptm::distill
