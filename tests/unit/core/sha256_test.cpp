// SHA-256 against the FIPS 180-4 / NIST example vectors.
#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"
#include "ptm/core/sha256.h"

using ptm::sha256_hex;

TEST_CASE("sha256 matches the NIST vectors", "[unit][data]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  CHECK(sha256_hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("streaming in odd pieces equals one shot and files hash their bytes", "[unit][data]") {
  const std::string text = "The quick brown fox jumps over the lazy dog, again and again and again.";
  ptm::Sha256 h;
  for (size_t i = 0; i < text.size(); i += 7) {
    h.update(text.substr(i, 7));
    h.update(nullptr, 0);  // an empty tensor's bytes (UBSan: memcpy from null, found by scripts/sanitize.sh)
  }
  CHECK(h.hex() == sha256_hex(text));
  ptm::test::TempDir d;
  CHECK(ptm::sha256_file(d.write("f.txt", text)) == sha256_hex(text));
  CHECK_THROWS_AS(ptm::sha256_file(d.file("missing")), ptm::IoError);
}
