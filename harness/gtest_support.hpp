// GoogleTest glue for harness/, for tests only (bench/ uses harness/ without GoogleTest):
// what a test does when jackd is missing, and scratch directories named after the running
// test or kept with their logs when it fails.
#pragma once

#include "harness/process.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace chronus::harness {

// An empty scratch directory named after the running test: <tmp>/<prefix>-<pid>-<test>.
inline std::filesystem::path freshTestDir(const std::string &prefix)
{
    const auto dir = std::filesystem::temp_directory_path() /
                     (prefix + "-" + std::to_string(getpid()) + "-" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

// A ScratchDir kept, with its logs, when the test has failed by the time it goes.
class TestScratchDir : public ScratchDir {
public:
    explicit TestScratchDir(const std::string &prefix) : ScratchDir(prefix) {}
    ~TestScratchDir()
    {
        if (::testing::Test::HasFailure())
            keep();
    }
};

} // namespace chronus::harness

// Fails under CI, skips elsewhere, when jackd is not installed.
// Declares `var` as the chronus-recorder binary ($CHRONUS_RECORDER); fails under CI and skips
// otherwise when it is not set (the recorder is not built).
#define CHRONUS_REQUIRE_RECORDER(var)                                                              \
    const char *var = std::getenv("CHRONUS_RECORDER");                                             \
    do {                                                                                           \
        if (!var) {                                                                                \
            if (std::getenv("CI"))                                                                 \
                FAIL() << "CHRONUS_RECORDER is not set and CI is set";                             \
            GTEST_SKIP() << "CHRONUS_RECORDER is not set (the recorder is not built)";             \
        }                                                                                          \
    } while (0)

#define CHRONUS_REQUIRE_JACKD()                                                                    \
    do {                                                                                           \
        if (!::chronus::harness::jackdAvailable()) {                                               \
            if (std::getenv("CI"))                                                                 \
                FAIL() << "jackd is not installed and CI is set";                                  \
            GTEST_SKIP() << "jackd is not installed";                                              \
        }                                                                                          \
    } while (0)
