// Catch2 v2 (Debian 12) and v3 (Ubuntu 24.04) shim: include this, never Catch2 directly.
#pragma once
#if defined(PTM_CATCH2_V3)
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/interfaces/catch_interfaces_capture.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif
