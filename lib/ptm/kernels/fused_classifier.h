// Softmax cross entropy over rows of bf16 logits on CUDA, one kernel (after llm.c's fused
// classifier): per row, the loss lse - logit[target] in fp32, and the logits overwritten in
// place by d(loss)/d(logits) = softmax - one-hot, in bf16. Plain declarations: no torch and no
// CUDA headers, so any file may include it; defined only in builds with PTM_WITH_CUDA_KERNELS.
#pragma once
#include <cstdint>

namespace ptm::kernels {

// logits: [rows, padded_vocab] bf16 on the device, row stride padded_vocab (a multiple of 8,
// 16-byte aligned rows); columns from vocab on are padding, ignored and written as 0.
// targets: [rows] int64 on the device. row_loss: [rows] fp32 out; 0 for rows whose target is
// ignore_index (their gradient row is 0 too), NaN for a target outside [0, vocab).
// stream: the cudaStream_t to launch on. Throws std::runtime_error if the launch fails.
void fused_classifier_bf16(void* logits, float* row_loss, const int64_t* targets, int64_t rows, int64_t vocab,
                           int64_t padded_vocab, int64_t ignore_index, void* stream);

}  // namespace ptm::kernels
