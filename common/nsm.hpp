// Non Session Manager client (API 1.1): when NSM_URL is set, a program announces itself,
// waits for /nsm/client/open before it registers any JACK client, takes its JACK name and
// state path from the session, and answers /nsm/client/save. Every message goes out from
// the socket that announced (nsmd is UDP only). Control thread only.
#pragma once

#include "common/expected.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace chronus {

class NsmClient {
public:
    struct Session {
        std::string path;        // where this client keeps its state (file prefix or dir)
        std::string displayName; // the session's name
        std::string clientId;    // use as the JACK client name
    };
    // Returns the open/save result; its error text goes back in /error.
    using OpenHandler = std::function<Expected<void>(const Session &)>;
    using SaveHandler = std::function<Expected<void>()>;

    // nullopt when NSM_URL is unset (run normally). Fails if NSM_URL is set but unusable.
    static Expected<std::unique_ptr<NsmClient>> fromEnvironment();
    // Connects to an explicit server URL (tests).
    static Expected<std::unique_ptr<NsmClient>> connect(const std::string &url);
    ~NsmClient();

    // Sends /nsm/server/announce with our name, capabilities, executable and pid.
    bool announce(const std::string &appName, const std::string &capabilities, const std::string &executable);
    // Handles traffic for up to timeoutMs; calls the handlers on this thread.
    void poll(int timeoutMs);
    // Polls until /nsm/client/open has been handled, or the timeout; the session if so.
    std::optional<Session> waitForOpen(int timeoutMs);

    void onOpen(OpenHandler handler) { open_ = std::move(handler); }
    void onSave(SaveHandler handler) { save_ = std::move(handler); }
    // The session once opened.
    const std::optional<Session> &session() const noexcept { return session_; }
    // The server's reply to announce ("" until it came); set on /error too.
    const std::string &serverName() const noexcept { return serverName_; }
    const std::string &announceError() const noexcept { return announceError_; }

private:
    NsmClient() = default;
    static int dispatch(const char *path, const char *types, void **argv, int argc, void *msg, void *self);
    void *server_ = nullptr; // lo_server: our socket, for sending and receiving
    void *nsmd_ = nullptr;   // lo_address
    OpenHandler open_;
    SaveHandler save_;
    std::optional<Session> session_;
    std::string serverName_;
    std::string announceError_;
};

// How a program joins a session at start-up.
struct NsmJoinConfig {
    std::string appName;    // announced to the session manager ("Chronus", "chronus-recorder")
    std::string program;    // names the program in answers ("chronus-supervisor cannot switch sessions")
    std::string executable; // argv[0]
    std::optional<std::chrono::seconds> openTimeout; // how long to wait for the open; nullopt: until quit
};

// Joins the session named by NSM_URL, before the program registers any JACK client: announces,
// then waits until the session manager opens a session and `open` accepts it (it prepares the
// program's directory and takes its JACK name; its error goes back in /error and ends the
// wait), until `quit`, or until the timeout. Afterwards the client accepts only the same
// session again. Returns null without NSM_URL (run normally; `open` is not called), the
// client otherwise (with no session if `quit` ended the wait), or the reason to exit:
// NSM_URL unusable, the announce refused, the session not opened, no open in time.
// Control thread; blocks.
Expected<std::unique_ptr<NsmClient>> joinNsmSession(const NsmJoinConfig &config, NsmClient::OpenHandler open,
                                                    const std::atomic<bool> &quit);

} // namespace chronus
