// chronus-supervisor as a Non Session Manager client: when NSM_URL is set it announces
// itself before any JACK client exists, waits for /nsm/client/open, and takes its JACK
// name, patch directory and start-up patch from the session. Control thread only.
#pragma once

#include "common/expected.hpp"
#include "common/nsm.hpp"
#include "supervisor/options.hpp"

#include <atomic>
#include <memory>
#include <string>

namespace chronus::supervisor {

// Without NSM_URL: returns null and leaves `options` alone. Under NSM: announces "Chronus"
// (no optional capabilities), then waits up to --nsm-open-timeout (or until `quit`) for the
// open. The client id becomes the JACK name (and the instance, unless --instance was
// given), the session path the patch directory (created), and <path>/patch.json, when it
// exists, the start-up patch. Fails with the reason to exit (NSM_URL unusable, announce
// refused, the session unusable, no open in time).
Expected<std::unique_ptr<NsmClient>> joinSession(Options &options, const char *argv0, const std::atomic<bool> &quit);

// The file a session's live patch is saved to and loaded from.
std::string sessionPatchFile(const std::string &sessionPath);

// Writes `text` to a temporary file beside `path`, syncs it and renames it over `path`,
// so a reader (or a crash) never sees half a file.
Expected<void> writeFileAtomically(const std::string &path, const std::string &text);

} // namespace chronus::supervisor
