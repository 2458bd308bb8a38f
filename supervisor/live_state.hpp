// The live patch kept on disk, so a supervisor that is killed, crashes or is restarted by
// systemd (or exits because JACK's buffer size changed) plays on with the patch it had:
// written atomically (temporary file, fsync, rename) by a thread of its own whenever it
// changed, so a slow disk never holds up the control loop; read once at start-up.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace chronus::supervisor {

class LiveState {
public:
    // Keeps the patch in `path` (created with its directory when first written); an empty
    // path keeps nothing.
    explicit LiveState(std::string path);
    // Writes what is still pending, then stops the writer thread.
    ~LiveState();
    LiveState(const LiveState &) = delete;
    LiveState &operator=(const LiveState &) = delete;

    // $CHRONUS_STATE_DIR, else $XDG_STATE_HOME/chronus, else ~/.local/state/chronus.
    static std::string defaultDir();

    // The patch saved last time, if there is one. Control thread, at start-up.
    std::optional<std::string> load() const;
    // The live patch now, as JSON: written soon if it differs from what was written last.
    // Never blocks on the disk. Control thread.
    void offer(const std::string &json);
    const std::string &path() const noexcept { return path_; }
    // Writes that failed (the last error is logged once per kind of failure).
    std::uint64_t failures() const;

private:
    void run();

    std::string path_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::string pending_;   // latest offer not written yet
    bool havePending_ = false;
    bool stopping_ = false;
    std::string written_;   // control thread: the last text handed over
    std::uint64_t failures_ = 0;
    std::thread writer_;
};

} // namespace chronus::supervisor
