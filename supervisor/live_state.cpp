#include "supervisor/live_state.hpp"

#include "common/log.hpp"
#include "supervisor/session.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace chronus::supervisor {

LiveState::LiveState(std::string path) : path_(std::move(path))
{
    if (!path_.empty())
        writer_ = std::thread([this] { run(); });
}

LiveState::~LiveState()
{
    if (!writer_.joinable())
        return;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    writer_.join();
}

std::string LiveState::defaultDir()
{
    if (const char *dir = std::getenv("CHRONUS_STATE_DIR"); dir && *dir)
        return dir;
    if (const char *xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg)
        return std::string(xdg) + "/chronus";
    if (const char *home = std::getenv("HOME"); home && *home)
        return std::string(home) + "/.local/state/chronus";
    return "state";
}

std::optional<std::string> LiveState::load() const
{
    if (path_.empty())
        return std::nullopt;
    std::ifstream in(path_);
    if (!in)
        return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void LiveState::offer(const std::string &json)
{
    if (path_.empty() || json == written_)
        return;
    written_ = json;
    {
        std::lock_guard lock(mutex_);
        pending_ = json;
        havePending_ = true;
    }
    wake_.notify_all();
}

std::uint64_t LiveState::failures() const
{
    std::lock_guard lock(mutex_);
    return failures_;
}

void LiveState::run()
{
    std::string lastError;
    for (;;) {
        std::string text;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return havePending_ || stopping_; });
            if (!havePending_)
                return; // stopping, nothing left to write
            text = std::move(pending_);
            havePending_ = false;
        }
        std::error_code ec;
        std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
        if (auto written = writeFileAtomically(path_, text + "\n"); !written) {
            std::lock_guard lock(mutex_);
            ++failures_;
            if (written.error() != lastError)
                log::error("cannot keep the live patch: ", written.error());
            lastError = written.error();
        } else {
            lastError.clear();
        }
    }
}

} // namespace chronus::supervisor
