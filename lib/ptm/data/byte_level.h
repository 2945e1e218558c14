// GPT-2's byte-to-unicode alphabet (each byte shown as a printable character), the ByteLevel
// decoder, and the plain byte tokenizer (UTF-8 bytes as ids 0..255, then specials).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ptm::data::byte_level {

// The code point that stands for byte b ('!'..'~' themselves, ' ' -> U+0120 'Ġ', ...).
uint32_t byte_to_cp(uint8_t b);
// The UTF-8 of that character, per byte.
const std::array<std::string, 256>& byte_symbols();
// The byte a symbol stands for, or -1.
int cp_to_byte(uint32_t cp);
// bytes -> the string of their symbols.
std::string to_symbols(std::string_view bytes);
// Hugging Face's ByteLevel decoder for one token: the bytes of its symbols, or, when some
// character is not a symbol, the token's own UTF-8. Returns false in that second case.
bool from_symbols(std::string_view token, std::string& out);

}  // namespace ptm::data::byte_level
