// Helpers for recorder integration tests: a private dummy jackd (unique name, stopped by
// PID), child processes with logs, and a frame-by-frame check of ramp recordings.
#pragma once

#include "harness/gtest_support.hpp"
#include "harness/private_jackd.hpp"
#include "tests/recorder/ramp_check.hpp"

#include <gtest/gtest.h>
#include <jack/jack.h>
#include <sndfile.h>

#include <arpa/inet.h>
#include <chrono>
#include <netinet/in.h>
#include <sys/socket.h>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace testing_rec {

namespace fs = std::filesystem;

using chronus::harness::envOr;
using chronus::harness::spawn;
using chronus::harness::stopChild;
using JackServer = chronus::harness::PrivateJackd;

inline bool alive(pid_t pid) { return waitpid(pid, nullptr, WNOHANG) == 0; }

#define REQUIRE_JACKD CHRONUS_REQUIRE_JACKD

inline int freeUdpPort()
{
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    socklen_t len = sizeof a;
    bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

// A 2-channel float take that a signal ended (SIGINT, SIGTERM): the process exited 0, the
// file holds at least `minFrames` of the ramp with silence only in whole skipped periods,
// and its header counts exactly the frames written.
// `rampLog`: the ramp source's log, for the cycles it said it misplayed.
inline void expectFinalizedTake(int waitStatus, const fs::path &path, std::uint64_t minFrames, const fs::path &rampLog)
{
    EXPECT_TRUE(WIFEXITED(waitStatus) && WEXITSTATUS(waitStatus) == 0) << "wait status " << waitStatus;
    std::this_thread::sleep_for(std::chrono::milliseconds(60)); // the ramp reports within 20 ms
    const RampCheck r = checkRamp(path, sidecarFirstFrame(path), {}, rampMisplays(rampLog));
    ASSERT_TRUE(r.opened) << path;
    EXPECT_GE(r.frames, minFrames) << r.describe();
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(r.silentFrames % 256, 0u) << "silence not in whole skipped periods: " << r.describe();
    // Data bytes = frames x 2 channels x 4 bytes, plus a header.
    EXPECT_GE(fs::file_size(path), r.frames * 8);
    EXPECT_LT(fs::file_size(path), r.frames * 8 + 4096);
}

} // namespace testing_rec
