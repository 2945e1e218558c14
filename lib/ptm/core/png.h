// A minimal PNG writer (8-bit grayscale or RGB, stored deflate blocks: no compression), for
// the input images of TensorBoard event files. Torch-free.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ptm::png {

// CRC-32 of PNG chunks and zip (IEEE, reflected 0xEDB88320); "123456789" -> 0xCBF43926.
uint32_t crc32(const void* data, size_t size);
// Adler-32 of zlib streams; "Wikipedia" -> 0x11E60398.
uint32_t adler32(const void* data, size_t size);

// `pixels`: height rows of width * channels bytes (channels 1 = gray, 3 = RGB).
// Throws std::invalid_argument when the sizes do not match.
std::string encode(const std::vector<uint8_t>& pixels, int width, int height, int channels);

}  // namespace ptm::png
