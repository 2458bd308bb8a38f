// Helpers for recorder integration tests: a private dummy jackd (unique name, stopped by
// PID), child processes with logs, and a frame-by-frame check of ramp recordings.
#pragma once

#include "../support/private_jackd.hpp"
#include "ramp_check.hpp"

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

using chronus::testsupport::envOr;
using chronus::testsupport::spawn;
using chronus::testsupport::stopChild;
using JackServer = chronus::testsupport::PrivateJackd;

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

} // namespace testing_rec
