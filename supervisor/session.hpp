// chronus-supervisor as a Non Session Manager client: when NSM_URL is set it announces
// itself before any JACK client exists, waits for /nsm/client/open, and takes its JACK
// name, patch directory and start-up patch from the session. Control thread only.
#pragma once

#include "common/expected.hpp"
#include "common/nsm.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace chronus::supervisor {

// What the session decides; main fills in the options first and joinSession() overrides them.
struct SessionPlan {
    std::string jackName;        // JACK client name; workers are <jackName>-worker-0/1
    std::string patchDir;        // where /patch/save writes
    std::string instance;        // shared-memory instance name
    bool instanceGiven = false;  // --instance was given: the session does not rename it
    std::string patchPath;       // patch loaded at start ("" for none)
    std::string patchText;       // its contents
};

// Without NSM_URL: returns null and leaves `plan` alone. Under NSM: announces "Chronus"
// (no optional capabilities), then waits up to `openTimeout` (or until `quit`) for the
// open. The client id becomes the JACK name (and the instance, unless given), the session
// path the patch directory (created), and <path>/patch.json, when it exists, the patch.
// Fails with the reason to exit (NSM_URL unusable, announce refused, no open in time).
Expected<std::unique_ptr<NsmClient>> joinSession(SessionPlan &plan, const char *argv0,
                                                 std::chrono::seconds openTimeout, const std::atomic<bool> &quit);

// The file a session's live patch is saved to and loaded from.
std::string sessionPatchFile(const std::string &sessionPath);

// Writes `text` to a temporary file beside `path`, syncs it and renames it over `path`,
// so a reader (or a crash) never sees half a file.
Expected<void> writeFileAtomically(const std::string &path, const std::string &text);

} // namespace chronus::supervisor
